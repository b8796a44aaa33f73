"""One place that answers "may this user act on this object".

Every channel (staff pages, admin, API, import) asks these guards; none checks roles itself.
Scope follows the region of the department a role is held in: a role held in a city department
covers that city and every county and town below it.
"""

from typing import Any, NamedTuple

from django.db import router
from django.db.models import Aggregate, JSONField, OuterRef, Q, Subquery
from django.db.models.functions import JSONArray
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from govhall.accounts.models import Role, StaffAssignment
from govhall.org.models import Region, RegionLevel
from govhall.queries import values_list_compiled

# Bumped whenever any assignment changes in this process, so that a user object that has read
# its assignments reads them again (a request's user lives for one request anyway).
_assignments_generation = [0]


@receiver((post_save, post_delete), sender=StaffAssignment, dispatch_uid="govhall_assignments_changed")
def _assignments_changed(**_kwargs: Any) -> None:
    _assignments_generation[0] += 1


class RoleHeld(NamedTuple):
    """One role a staff member holds: in which department, and that department's region."""

    role: str
    department_id: int
    region: Region


REGION_FIELDS = [field.attname for field in Region._meta.concrete_fields]


ASSIGNMENT_COLUMNS = ("role", "department_id", *(f"department__region__{name}" for name in REGION_FIELDS))


def _assignment_rows(user_id: int) -> Any:
    return StaffAssignment.objects.filter(user_id=user_id).values_list(*ASSIGNMENT_COLUMNS)


class _JsonRows(Aggregate):
    """The rows' values, each a JSON array, in one JSON array (PostgreSQL's ``jsonb_agg``,
    SQLite's ``json_group_array``)."""

    function = "JSONB_AGG"
    output_field = JSONField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="JSON_GROUP_ARRAY", **extra_context)


def staff_assignments_of(user_id: OuterRef) -> Subquery:
    """The rows ``staff_assignments`` reads for the user ``user_id`` refers to, as one value of
    an outer statement (a JSON array of rows, NULL for none), for ``staff_assignments_known``:
    the API's access token is read with its user's roles so (one round trip less a request)."""
    rows = (
        StaffAssignment.objects.filter(user_id=user_id)
        .order_by()
        .values("user_id")
        .annotate(rows=_JsonRows(JSONArray(*ASSIGNMENT_COLUMNS)))
        .values("rows")
    )
    return Subquery(rows, output_field=JSONField())


def _held(rows: Any) -> list[RoleHeld]:
    regions: dict[str, Region] = {}
    assignments = []
    database = router.db_for_read(Region)
    for role, department_id, *region_values in rows:
        region = regions.get(region_values[0])
        if region is None:
            region = regions[region_values[0]] = Region.from_db(database, REGION_FIELDS, region_values)
        assignments.append(RoleHeld(role, department_id, region))
    return assignments


def staff_assignments_known(*, user: Any, rows: list[list[Any]] | None) -> None:
    """Keeps ``rows`` (read by ``staff_assignments_of`` in the statement that read ``user``) as
    the user's roles, which ``staff_assignments`` then answers without a query."""
    user._govhall_assignments = (_assignments_generation[0], _held(rows or []))


def staff_assignments(*, user: Any) -> list[RoleHeld]:
    """All roles ``user`` holds, with department and region, read once per user object.

    Every guard of a request asks this instead of querying again: an accept or decide action
    checks the officer's roles several times. The rows are read as values, not as assignment
    and department models: a window officer holds roles in dozens of departments, and building
    those models took three times as long as the query.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, "_govhall_assignments", None)
    if cached is not None and cached[0] == _assignments_generation[0]:
        return cached[1]
    # Compiled once per process: compiling took as long as running it.
    assignments = _held(values_list_compiled("staff_assignments", _assignment_rows, user.pk))
    user._govhall_assignments = (_assignments_generation[0], assignments)
    return assignments


def staff_regions_for_role(*, user: Any, role: Role) -> list[Region]:
    """The regions in which ``user`` holds ``role`` (each covers everything below it)."""
    return [assignment.region for assignment in staff_assignments(user=user) if assignment.role == role]


def staff_has_role(*, user: Any, role: Role) -> bool:
    return bool(staff_regions_for_role(user=user, role=role))


def staff_may_act_in_region(*, user: Any, role: Role, region: Region) -> bool:
    """True when ``user`` holds ``role`` in ``region`` or in a region above it."""
    return any(scope.contains(region) for scope in staff_regions_for_role(user=user, role=role))


def staff_may_act_at_province_level(*, user: Any, role: Role) -> bool:
    """Catalogue entries are the province's: only a role held at province level reaches them."""
    return any(scope.level == RegionLevel.PROVINCE for scope in staff_regions_for_role(user=user, role=role))


def staff_region_prefixes(*, user: Any, role: Role) -> list[str]:
    """Region-code prefixes covering the user's scope for ``role``; for filtering querysets."""
    return [scope.prefix for scope in staff_regions_for_role(user=user, role=role)]


def person_may_act_for_company(*, person: Any, company: Any, basic_code: str | None = None, on: Any = None) -> bool:
    """May ``person`` act for ``company`` (for the service ``basic_code``, when given)?

    The legal representative always may; an agent may while an authorisation is in force
    (not withdrawn, not past its date) and covers all services or the named one.
    """
    from govhall.accounts.models import Agency
    from govhall.accounts.selectors import agencies_active_query

    if person is None or company is None:
        return False
    if company.legal_representative_id == person.pk:
        return True
    agencies = Agency.objects.filter(agencies_active_query(on=on), company=company, agent=person)
    if basic_code is None:
        return agencies.exists()
    return agencies.filter(Q(all_services=True) | Q(services__basic_code=basic_code)).exists()


# ---------------------------------------------------------------------------------------------
# The three separated administrators (三员分立, required of public systems by 等保): the system
# administrator runs the system, the security administrator grants roles, the auditor reads the
# audit trail; none can do another's job. These guards decide the admin site; Django's
# is_superuser and model permissions decide nothing there.

SEPARATED_ADMINISTRATOR_ROLES = frozenset({Role.SYSTEM_ADMINISTRATOR, Role.SECURITY_ADMINISTRATOR, Role.AUDITOR})


def staff_may_administer_system(*, user: Any) -> bool:
    """Departments, halls, windows, themes, synonyms; regions and the catalogue read-only."""
    return staff_has_role(user=user, role=Role.SYSTEM_ADMINISTRATOR)


def staff_may_grant_roles(*, user: Any) -> bool:
    """Creates staff accounts and grants or withdraws roles (never their own)."""
    return staff_has_role(user=user, role=Role.SECURITY_ADMINISTRATOR)


def staff_may_grant_roles_to(*, user: Any, target: Any) -> bool:
    """A security administrator may set the roles of anyone but themselves: a self-grant of any
    role (another separated one above all) would undo the separation."""
    if not staff_may_grant_roles(user=user):
        return False
    if target is not None and target.pk == user.pk:
        return False
    return True


def staff_may_read_audit(*, user: Any) -> bool:
    """Only the auditor reads the audit trail; nobody changes it."""
    return staff_has_role(user=user, role=Role.AUDITOR)


def staff_roles_are_separated(*, roles: Any) -> bool:
    """False when ``roles`` hold more than one of the three separated administrator roles."""
    return len(SEPARATED_ADMINISTRATOR_ROLES.intersection(roles)) <= 1
