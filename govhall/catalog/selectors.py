"""Reads of the catalogue, for every channel (portal, workbench, API, import/export).

The public sees published implementations that are not cancelled and whose entry is not
cancelled; suspended ones stay visible with a notice, since people still look for them.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, overload

from django.core.cache import cache
from django.db import router
from django.db.models import Count, Prefetch, Q, QuerySet

from govhall.accounts.guards import staff_may_act_at_province_level, staff_region_prefixes, staff_regions_for_role
from govhall.accounts.models import Role
from govhall.catalog.models import (
    CatalogueChange,
    CatalogueEntry,
    CatalogueEntryVersion,
    ChangeState,
    GuideBody,
    Implementation,
    ImplementationVersion,
    ItemState,
    Material,
    OnlineDepth,
    ProcessStep,
    Theme,
)
from govhall.org.models import Department, Hall, Region, RegionLevel
from govhall.org.selectors import region_scope_codes
from govhall.queries import (
    KeptAfterCommit,
    list_compiled,
    unique_or_none,
    unique_or_none_compiled,
    values_list_compiled,
)

# Online depth badges (DOMAIN.md): 全程网办 = no site visit and online acceptance, handling and
# result feedback; 最多跑一次 = at most one site visit; 零跑动 = no site visit at all.
MOST_USED_CACHE_SECONDS = 60
BADGE_FULLY_ONLINE = "fully_online"
BADGE_AT_MOST_ONE_VISIT = "at_most_one_visit"
BADGE_ZERO_VISIT = "zero_visit"


def badge_filter(badge: str) -> Q:
    """The condition for an online-depth badge, or a single depth level given as a digit."""
    if badge == BADGE_FULLY_ONLINE:
        return (
            Q(site_visits=0)
            & Q(online_depth__contains="4")
            & Q(online_depth__contains="5")
            & Q(online_depth__contains="6")
        )
    if badge == BADGE_AT_MOST_ONE_VISIT:
        return Q(site_visits__lte=1)
    if badge == BADGE_ZERO_VISIT:
        return Q(site_visits=0)
    if badge in {str(level) for level in OnlineDepth.values}:
        return Q(online_depth__contains=badge)
    raise ValueError(badge)


def badges_for(*, site_visits: int, online_depth: str) -> list[str]:
    """The badges an implementation earns, most demanding first."""
    badges = []
    if site_visits == 0 and {"4", "5", "6"} <= set(online_depth):
        badges.append(BADGE_FULLY_ONLINE)
    if site_visits == 0:
        badges.append(BADGE_ZERO_VISIT)
    if site_visits <= 1:
        badges.append(BADGE_AT_MOST_ONE_VISIT)
    return badges


def implementation_public_queryset() -> QuerySet[Implementation]:
    return (
        Implementation.objects.exclude(state=ItemState.CANCELLED)
        .exclude(entry__state=ItemState.CANCELLED)
        .select_related("entry", "region", "department")
    )


def implementation_list_public(
    *,
    region_code: str | None = None,
    department_code: str | None = None,
    theme_code: str | None = None,
    audience: str | None = None,
    badge: str | None = None,
    kind: str | None = None,
) -> QuerySet[Implementation]:
    """Published implementations for browsing; filters combine. Ordered by entry name then region.

    A region filter means "what someone in this region can use": the implementations of the
    region itself and of every region above it (a 西湖区 resident uses 杭州市 and 浙江省 ones too).
    """
    implementations = implementation_public_queryset()
    if region_code:
        implementations = implementations.filter(region_id__in=region_scope_codes(region_code=region_code))
    if department_code:
        implementations = implementations.filter(department__code=department_code)
    if theme_code:
        implementations = implementations.filter(entry__themes__code=theme_code)
    if audience == "person":
        implementations = implementations.filter(entry__for_persons=True)
    elif audience == "company":
        implementations = implementations.filter(entry__for_companies=True)
    if badge:
        implementations = implementations.filter(badge_filter(badge))
    if kind:
        implementations = implementations.filter(entry__kind=kind)
    return implementations.order_by("entry__name", "region_id", "implementation_code")


def implementation_page(
    implementations: QuerySet[Implementation], *, start: int, size: int, deferred: tuple[str, ...] = ()
) -> list[Implementation]:
    """One page of a list of implementations, in the list's order: the page's ids are sorted
    from the narrow rows the order and the filters need, then the page's rows are read with
    their entry, region and department (without ``deferred``). Sorting a county's 1,733 whole
    rows joined to their regions and departments took 14 ms of PostgreSQL, the ids 4.5."""
    ids = list(implementations.values_list("pk", flat=True)[start : start + size])
    if not ids:
        return []
    # Compiled once per length of page and fields left out: building the statement of the
    # three joined models was about a tenth of a catalogue page's time in one process.
    name = f"implementation_page:{len(ids)}:{','.join(deferred)}"
    rows = {row.pk: row for row in list_compiled(name, partial(_page_rows, deferred), *ids)}
    return [rows[pk] for pk in ids if pk in rows]


def _page_rows(deferred: tuple[str, ...], *ids: int) -> QuerySet[Implementation]:
    return implementation_public_queryset().defer(*deferred).filter(pk__in=ids)


LIST_COUNT_SECONDS = 300


def implementation_count_public(**filters: Any) -> int:
    """How many implementations ``implementation_list_public(**filters)`` lists, kept for each set
    of filters with the catalogue's version read before counting (every publication moves it,
    so no count from before one is used after it; the version and the count are read in one
    round trip), for ``LIST_COUNT_SECONDS`` at most (a region moved under another). Counting a
    county's list joins and checks some 1,700 rows every time: 4.6 ms of PostgreSQL, on every
    page of it that is not kept whole."""
    from govhall.catalog.search import arguments_digest, catalogue_kept

    key = f"catalogue-count:{arguments_digest(**filters)}"
    version, kept = catalogue_kept(key)
    if kept is not None:
        return int(kept["count"])
    count = implementation_list_public(**filters).count()
    cache.set(key, {"version": version, "count": count}, timeout=LIST_COUNT_SECONDS)
    return count


class ImplementationPages:
    """A list of implementations as Django's paginator reads it: its length counted, and a page
    read by ``implementation_page`` (the portal's browsing pages, as the API's list).
    ``ImplementationPages.public(**filters)``: the published ones for browsing, counted by
    ``implementation_count_public``."""

    def __init__(
        self,
        implementations: QuerySet[Implementation],
        *,
        deferred: tuple[str, ...] = (),
        filters: dict[str, Any] | None = None,
    ) -> None:
        self.implementations = implementations
        self.deferred = deferred
        self.filters = filters

    @classmethod
    def public(cls, *, deferred: tuple[str, ...] = (), **filters: Any) -> "ImplementationPages":
        return cls(implementation_list_public(**filters), deferred=deferred, filters=filters)

    def count(self) -> int:
        if self.filters is not None:
            return implementation_count_public(**self.filters)
        return self.implementations.count()

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[Implementation]:
        return iter(self.implementations.defer(*self.deferred))

    @overload
    def __getitem__(self, index: int) -> Implementation: ...

    @overload
    def __getitem__(self, index: slice) -> list[Implementation]: ...

    def __getitem__(self, index: int | slice) -> Implementation | list[Implementation]:
        if isinstance(index, int):
            found = implementation_page(self.implementations, start=index, size=1, deferred=self.deferred)
            if not found:
                raise IndexError(index)
            return found[0]
        if index.step is not None or index.stop is None:
            raise TypeError("a list of implementations is read by pages: a slice with an end and no step")
        start = index.start or 0
        return implementation_page(
            self.implementations, start=start, size=max(0, index.stop - start), deferred=self.deferred
        )


def implementation_most_used(*, limit: int = 8) -> list[Implementation]:
    """The services people open most (guide views), for the home page: one implementation per
    catalogue entry, so an item carried out in every county is listed once, not once per county.
    The choice (ids only) is kept a minute in the cache; the rows are read fresh."""
    key = f"most-used:{limit}"
    chosen_ids: list[int] | None = cache.get(key)
    if chosen_ids is None:
        most_viewed = (
            implementation_public_queryset()
            .filter(state=ItemState.ACTIVE)
            .order_by("-view_count", "id")
            .values_list("id", "entry_id")
        )
        chosen: dict[int, int] = {}
        # A bounded window of the most viewed rows is enough to find ``limit`` distinct entries.
        for implementation_id, entry_id in most_viewed[: limit * 12]:
            chosen.setdefault(entry_id, implementation_id)
            if len(chosen) == limit:
                break
        chosen_ids = list(chosen.values())
        cache.set(key, chosen_ids, MOST_USED_CACHE_SECONDS)
    rows = {row.pk: row for row in implementation_public_queryset().filter(pk__in=chosen_ids, state=ItemState.ACTIVE)}
    return [rows[pk] for pk in chosen_ids if pk in rows]


def _implementation_for_application_queryset() -> QuerySet[Implementation]:
    return implementation_public_queryset().prefetch_related(
        "process_steps", Prefetch("materials", queryset=Material.objects.order_by("order"))
    )


def implementation_get_public(*, implementation_code: str) -> Implementation | None:
    """One published implementation with everything its guide shows, or None (also when cancelled)."""
    return unique_or_none(
        _implementation_for_application_queryset()
        .select_related("hall")
        .prefetch_related("windows", "entry__themes")
        .filter(implementation_code=implementation_code)
    )


def implementation_get_for_application(*, implementation_code: str) -> Implementation | None:
    """One published implementation with what an application reads of it (its entry, region and
    department, process steps, materials in order), or None (also when cancelled): the guide's
    hall, windows and themes are not read.

    Every draft and every filing in one call reads it: its statement is compiled once per
    process, and the steps and materials are left on it as ``prefetch_related`` leaves them
    (``implementation.materials.all()`` reads nothing more). Those of a version are read once per
    process (``_application_parts``)."""
    implementation = unique_or_none_compiled(
        "implementation_for_application", _implementation_application_query, implementation_code
    )
    if implementation is None:
        return None
    steps, materials = _application_parts(implementation)
    _prefetched_set(implementation, "process_steps", steps)
    _prefetched_set(implementation, "materials", materials)
    return implementation


# An implementation's process steps and materials, by (id, version), as the values of their
# rows: a publication rewrites them and raises the version in one transaction (services
# ``_implementation_write``), so a version's rows never change, and an implementation is never
# deleted. Up to 256 versions are kept (a few kilobytes each).
_application_parts_kept: KeptAfterCommit[tuple[int, int], tuple[list[list[Any]], list[list[Any]]]] = KeptAfterCommit(
    size=256
)
_STEP_FIELDS = [field.attname for field in ProcessStep._meta.concrete_fields]
_MATERIAL_FIELDS = [field.attname for field in Material._meta.concrete_fields]


def _application_parts(implementation: Implementation) -> tuple[list[ProcessStep], list[Material]]:
    """The implementation's steps and materials in order, each a new model of the kept values
    (two statements saved on every filing; models are built anew, so none is shared between
    requests)."""
    key = (implementation.pk, implementation.version)
    kept = _application_parts_kept.get(key)
    if kept is None:
        kept = (
            values_list_compiled("implementation_steps", _implementation_steps_query, implementation.pk),
            values_list_compiled("implementation_materials", _implementation_materials_query, implementation.pk),
        )
        _application_parts_kept.keep_after_commit(key, kept)
    alias = router.db_for_read(Material)
    return (
        [ProcessStep.from_db(alias, _STEP_FIELDS, row) for row in kept[0]],
        [Material.from_db(alias, _MATERIAL_FIELDS, row) for row in kept[1]],
    )


def _implementation_application_query(implementation_code: str) -> QuerySet[Implementation]:
    return implementation_public_queryset().filter(implementation_code=implementation_code)


def _implementation_steps_query(implementation_id: int) -> QuerySet[ProcessStep, Any]:
    return ProcessStep.objects.filter(implementation_id=implementation_id).order_by("order").values_list(*_STEP_FIELDS)


def _implementation_materials_query(implementation_id: int) -> QuerySet[Material, Any]:
    return Material.objects.filter(implementation_id=implementation_id).order_by("order").values_list(*_MATERIAL_FIELDS)


def _prefetched_set(implementation: Implementation, name: str, rows: list[Any]) -> None:
    """What ``prefetch_related(name)`` leaves on the implementation: the related manager's
    queryset holding ``rows``, and each row's implementation set."""
    for row in rows:
        row.implementation = implementation
    related = getattr(implementation, name).all()
    related._result_cache = rows
    related._prefetch_done = True
    vars(implementation).setdefault("_prefetched_objects_cache", {})[name] = related


def implementation_get_public_brief(*, implementation_code: str) -> Implementation | None:
    """One published implementation with only what the guide page reads besides the version's
    snapshot (its version and states, its region's name), or None (also when cancelled); the
    wide columns (forms, process, texts) stay in the database."""
    # Compiled once per process: every guide page reads it, and compiling took longer than the read.
    return unique_or_none_compiled("implementation_public_brief", _implementation_brief_query, implementation_code)


def _implementation_brief_query(implementation_code: str) -> QuerySet[Implementation]:
    return (
        implementation_public_queryset()
        .select_related(None)
        .select_related("entry", "region")
        .only(
            "id",
            "implementation_code",
            "version",
            "state",
            "region__code",
            "region__name",
            "entry__id",
            "entry__state",
            "entry__version",
        )
        .filter(implementation_code=implementation_code)
    )


def guide_body_get(*, key: str) -> tuple[str, str] | None:
    """The name and body kept under ``key`` (``GuideBody``), or None."""
    found = values_list_compiled("guide_body", _guide_body_query, key)
    return (found[0][0], found[0][1]) if found else None


def _guide_body_query(key: str) -> QuerySet[GuideBody, Any]:
    return GuideBody.objects.filter(key=key).order_by().values_list("name", "html")[:1]


@dataclass
class Guide:
    """A guide (办事指南) as published in one version: what the portal and the API show."""

    implementation_code: str
    version: int
    is_current: bool
    data: dict[str, Any]
    badges: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None


def implementation_guide(*, implementation: Implementation, version: int | None = None) -> Guide | None:
    """The guide of ``implementation`` in its current version, or an earlier ``version``."""
    number = version or implementation.version
    found = values_list_compiled("implementation_guide_snapshot", _snapshot_query, implementation.pk, number)
    if not found:
        return None
    snapshot = found[0][0]
    return Guide(
        implementation_code=implementation.implementation_code,
        version=number,
        is_current=number == implementation.version,
        data=snapshot,
        badges=badges_for(site_visits=snapshot["site_visits"], online_depth=snapshot["online_depth"]),
    )


def _snapshot_query(implementation_id: int, number: int) -> QuerySet[ImplementationVersion, Any]:
    # Unique by implementation and number; no ORDER BY (unique_or_none).
    versions = ImplementationVersion.objects.filter(implementation_id=implementation_id, number=number)
    return versions.order_by().values_list("snapshot")[:1]


def implementation_version_list(*, implementation: Implementation) -> QuerySet[ImplementationVersion]:
    return (
        ImplementationVersion.objects.filter(implementation=implementation)
        .select_related("change", "change__drafted_by", "change__reviewed_by")
        .order_by("-number")
    )


def implementation_version_get(*, implementation: Implementation, number: int) -> ImplementationVersion | None:
    return unique_or_none(ImplementationVersion.objects.filter(implementation=implementation, number=number))


def entry_version_list(*, entry: CatalogueEntry) -> QuerySet[CatalogueEntryVersion]:
    return CatalogueEntryVersion.objects.filter(entry=entry).select_related("change").order_by("-number")


def theme_list(*, audience: str | None = None) -> QuerySet[Theme]:
    themes = Theme.objects.all()
    if audience in ("person", "company"):
        themes = themes.filter(Q(audience=audience) | Q(audience="both"))
    return themes.order_by("order", "code")


def theme_get(*, code: str) -> Theme | None:
    return Theme.objects.filter(code=code).first()


def entry_list_active() -> QuerySet[CatalogueEntry]:
    """Catalogue entries in use, by name (e.g. to choose the services an agent may handle)."""
    return CatalogueEntry.objects.filter(state=ItemState.ACTIVE).order_by("name", "basic_code")


def entry_get(*, basic_code: str) -> CatalogueEntry | None:
    return CatalogueEntry.objects.filter(basic_code=basic_code).prefetch_related("themes").first()


# ---------------------------------------------------------------------------------------------
# Staff reads, scoped by the guards.


def _prefix_filter(prefixes: list[str], field_name: str) -> Q:
    condition = Q(pk__in=[])
    for prefix in prefixes:
        condition |= Q(**{f"{field_name}__startswith": prefix})
    return condition


def implementation_list_for_administrator(*, user: Any) -> QuerySet[Implementation]:
    """Implementations the user may draft changes for (their regions and everything below)."""
    prefixes = staff_region_prefixes(user=user, role=Role.CATALOGUE_ADMINISTRATOR)
    return (
        Implementation.objects.filter(_prefix_filter(prefixes, "region__code"))
        .select_related("entry", "region", "department")
        .order_by("region_id", "entry__name")
    )


def implementation_get_for_administrator(*, user: Any, implementation_code: str) -> Implementation | None:
    """Guard: the implementation if it is in the administrator's scope, else None (answer "not found")."""
    return implementation_list_for_administrator(user=user).filter(implementation_code=implementation_code).first()


def change_list_for_reviewer(*, user: Any) -> QuerySet[CatalogueChange]:
    """Submitted changes the user may review: in scope and not drafted by the user."""
    prefixes = staff_region_prefixes(user=user, role=Role.CATALOGUE_REVIEWER)
    province_level = [prefix for prefix in prefixes if len(prefix) == 2]
    in_scope = Q(target="implementation") & _prefix_filter(prefixes, "region__code")
    if province_level:
        in_scope |= Q(target="entry")
    return (
        CatalogueChange.objects.filter(in_scope, state=ChangeState.SUBMITTED)
        .exclude(drafted_by=user)
        .select_related("entry", "implementation__entry", "region", "drafted_by")
        .order_by("submitted_at", "id")
    )


def change_list_for_drafter(*, user: Any) -> QuerySet[CatalogueChange]:
    return (
        CatalogueChange.objects.filter(drafted_by=user)
        .select_related("entry", "implementation__entry", "region", "reviewed_by")
        .order_by("-drafted_at", "-id")
    )


def change_get_for_staff(*, user: Any, change_id: int) -> CatalogueChange | None:
    """Guard: a change its drafter, or a reviewer or administrator in its scope, may see."""
    change = (
        CatalogueChange.objects.select_related("entry", "implementation__entry", "region", "drafted_by", "reviewed_by")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        return None
    if change.drafted_by_id == getattr(user, "pk", None):
        return change
    for role in (Role.CATALOGUE_REVIEWER, Role.CATALOGUE_ADMINISTRATOR):
        prefixes = staff_region_prefixes(user=user, role=role)
        if change.target == "entry" and any(len(prefix) == 2 for prefix in prefixes):
            return change
        if change.target == "implementation" and any(change.region_id.startswith(p) for p in prefixes):
            return change
    return None


# ---------------------------------------------------------------------------------------------
# Workbench reads and guards (staff pages).


def _catalogue_staff_prefixes(*, user: Any) -> list[str]:
    return [
        *staff_region_prefixes(user=user, role=Role.CATALOGUE_ADMINISTRATOR),
        *staff_region_prefixes(user=user, role=Role.CATALOGUE_REVIEWER),
    ]


def implementation_list_for_staff(
    *, user: Any, region_code: str | None = None, department_code: str | None = None, text: str | None = None
) -> QuerySet[Implementation]:
    """Implementations the user may read on the workbench: those in the scope of their catalogue
    administrator or catalogue reviewer roles (reviewers read what they are asked to approve).

    ``region_code`` keeps a region and the regions below it; ``text`` matches the entry's name,
    the basic code or the implementation code.
    """
    prefixes = _catalogue_staff_prefixes(user=user)
    implementations = Implementation.objects.filter(_prefix_filter(prefixes, "region__code"))
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        implementations = (
            implementations.filter(region__code__startswith=region.prefix) if region else implementations.none()
        )
    if department_code:
        implementations = implementations.filter(department__code=department_code)
    if text:
        implementations = implementations.filter(
            Q(entry__name__icontains=text)
            | Q(entry__basic_code__icontains=text)
            | Q(implementation_code__icontains=text)
        )
    return implementations.select_related("entry", "region", "department").order_by(
        "region_id", "entry__name", "implementation_code"
    )


def implementation_get_for_staff(*, user: Any, implementation_code: str) -> Implementation | None:
    """Guard: the implementation with everything its page shows if it is in the user's catalogue
    scope, else None (answer "not found")."""
    return (
        implementation_list_for_staff(user=user)
        .select_related("hall")
        .prefetch_related("windows", "process_steps", "materials", "entry__themes")
        .filter(implementation_code=implementation_code)
        .first()
    )


def entry_list_for_administrator(*, user: Any, text: str | None = None) -> QuerySet[CatalogueEntry]:
    """Catalogue entries are the province's: only a province catalogue administrator lists them.
    ``text`` matches the name or the basic code."""
    if not staff_may_act_at_province_level(user=user, role=Role.CATALOGUE_ADMINISTRATOR):
        return CatalogueEntry.objects.none()
    entries = CatalogueEntry.objects.all()
    if text:
        entries = entries.filter(Q(name__icontains=text) | Q(basic_code__icontains=text))
    return entries.order_by("basic_code")


def entry_get_for_administrator(*, user: Any, basic_code: str) -> CatalogueEntry | None:
    """Guard: the entry for a province catalogue administrator, else None (answer "not found")."""
    return entry_list_for_administrator(user=user).prefetch_related("themes").filter(basic_code=basic_code).first()


def region_list_for_staff(*, user: Any, role: Role | None = None) -> QuerySet[Region]:
    """Regions down to county level in the user's catalogue scope (one role, or both catalogue roles)."""
    prefixes = staff_region_prefixes(user=user, role=role) if role is not None else _catalogue_staff_prefixes(user=user)
    return Region.objects.filter(_prefix_filter(prefixes, "code"), level__lte=RegionLevel.COUNTY).order_by("code")


def department_list_for_staff(*, user: Any, role: Role | None = None) -> QuerySet[Department]:
    """Departments of the regions in the user's catalogue scope (one role, or both catalogue roles)."""
    prefixes = staff_region_prefixes(user=user, role=role) if role is not None else _catalogue_staff_prefixes(user=user)
    return (
        Department.objects.filter(_prefix_filter(prefixes, "region__code"))
        .select_related("region")
        .order_by("region_id", "code")
    )


def hall_list_for_administrator(*, user: Any) -> QuerySet[Hall]:
    """Halls an administrator's implementations may be handled in: halls in their scope and the
    halls of the regions above it (a county item may be handled in the city's hall)."""
    regions = staff_regions_for_role(user=user, role=Role.CATALOGUE_ADMINISTRATOR)
    above = {code for region in regions for code in region_scope_codes(region_code=region.code)}
    return (
        Hall.objects.filter(
            _prefix_filter([region.prefix for region in regions], "region__code") | Q(region_id__in=above)
        )
        .select_related("region")
        .order_by("region_id", "name")
    )


def change_get_for_drafter(*, user: Any, change_id: int) -> CatalogueChange | None:
    """Guard: a change the user drafted, else None (answer "not found")."""
    return change_list_for_drafter(user=user).filter(pk=change_id).first()


def change_get_for_reviewer(*, user: Any, change_id: int) -> CatalogueChange | None:
    """Guard: a submitted change the user may review (in scope, not their own), else None."""
    return change_list_for_reviewer(user=user).filter(pk=change_id).first()


def change_counts_for_staff(*, user: Any) -> dict[str, int]:
    """The counts on the workbench home: the user's drafts, returned and submitted changes, and
    the changes waiting for the user's review."""
    counts = change_list_for_drafter(user=user).aggregate(
        drafts=Count("pk", filter=Q(state=ChangeState.DRAFT)),
        returned=Count("pk", filter=Q(state=ChangeState.RETURNED)),
        submitted=Count("pk", filter=Q(state=ChangeState.SUBMITTED)),
    )
    counts["awaiting_review"] = change_list_for_reviewer(user=user).count()
    return counts


from govhall.catalog.search import (  # noqa: E402, F401 - re-exported for the channels
    implementation_search,
    implementation_search_listed,
)
