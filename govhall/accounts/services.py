"""Writes to people and staff. (The identity issue adds registration, login and companies.)"""

from collections.abc import Iterable

from django.db import transaction

from govhall.accounts.models import Role, StaffAssignment, User
from govhall.audit.services import audit_record_add
from govhall.org.models import Department


def staff_user_upsert(
    *,
    username: str,
    display_name: str,
    password: str | None,
    assignments: Iterable[tuple[Department, Role]],
    is_superuser: bool = False,
    actor: User | None = None,
) -> User:
    """Create or update a staff member and set exactly the given roles; the password is set only
    when the account is new (an existing member keeps the password they chose)."""
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username, defaults={"display_name": display_name})
        user.display_name = display_name
        user.is_staff = True
        user.is_superuser = is_superuser
        if created and password:
            user.set_password(password)
        user.save()
        wanted = {(department.pk, role) for department, role in assignments}
        current = {(a.department_id, a.role): a for a in StaffAssignment.objects.filter(user=user)}
        for key, assignment in current.items():
            if key not in wanted:
                assignment.delete()
        for department_id, role in wanted - set(current):
            StaffAssignment.objects.create(user=user, department_id=department_id, role=role)
        if created or wanted != set(current):
            audit_record_add(
                actor=actor,
                action="staff_roles_set",
                object_type="user",
                object_id=user.pk,
                summary=f"{username}: {', '.join(sorted(role for _department, role in wanted))}",
            )
    return user
