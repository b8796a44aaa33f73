"""One place that answers "may this user act on this object".

Every channel (staff pages, admin, API, import) asks these guards; none checks roles itself.
Scope follows the region of the department a role is held in: a role held in a city department
covers that city and every county and town below it.
"""

from typing import Any

from govhall.accounts.models import Role, StaffAssignment
from govhall.org.models import Region, RegionLevel


def staff_regions_for_role(*, user: Any, role: Role) -> list[Region]:
    """The regions in which ``user`` holds ``role`` (each covers everything below it)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    if not user.is_active:
        return []
    assignments = StaffAssignment.objects.filter(user=user, role=role).select_related("department__region")
    return [assignment.department.region for assignment in assignments]


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
