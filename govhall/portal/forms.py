"""The search form: a GET form whose choices come from the published regions and departments."""

from typing import Any, cast

from django import forms
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from govhall.catalog.selectors import BADGE_AT_MOST_ONE_VISIT, BADGE_FULLY_ONLINE, BADGE_ZERO_VISIT
from govhall.org.models import Region, RegionLevel
from govhall.org.selectors import department_get, department_list, region_list, region_scope_codes

AUDIENCE_CHOICES = [("", _("不限")), ("person", _("个人办事")), ("company", _("法人办事"))]
BADGE_CHOICES = [
    ("", _("不限")),
    (BADGE_FULLY_ONLINE, _("全程网办")),
    (BADGE_AT_MOST_ONE_VISIT, _("最多跑一次")),
    (BADGE_ZERO_VISIT, _("零跑动")),
]
QUERY_MAX_LENGTH = 100
# Full-width spaces indent cities and counties under the province in a plain <select>.
REGION_INDENT = {RegionLevel.PROVINCE: "", RegionLevel.CITY: "\u3000", RegionLevel.COUNTY: "\u3000\u3000"}


# The choice lists change only when regions or departments are loaded: kept a few minutes.
CHOICES_CACHE_SECONDS = 600


def region_choices() -> list[tuple[str, str]]:
    """Province, cities and counties in code order, which is also the order of the tree."""
    cached = cache.get("search-region-choices")
    if cached is not None:
        return cached
    regions: list[Region] = []
    for level in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY):
        regions.extend(region_list(level=level))
    regions.sort(key=lambda region: region.code)
    choices = [(region.code, f"{REGION_INDENT[RegionLevel(region.level)]}{region.name}") for region in regions]
    cache.set("search-region-choices", choices, CHOICES_CACHE_SECONDS)
    return choices


def department_choices(*, region_code: str | None, department_code: str | None) -> list[Any]:
    """Departments that carry out at least one item in the chosen region or above it, grouped by
    region (as <optgroup>s). Without a region the list would hold every department of the
    province (some 1,500): the applicant picks the region first; a department already chosen
    (an old bookmark) stays valid."""
    if region_code:
        scope = region_scope_codes(region_code=region_code)
        departments = [
            department for code in scope for department in department_list(region_code=code, with_implementations=True)
        ]
    elif department_code:
        found = department_get(code=department_code)
        departments = [found] if found is not None else []
    else:
        departments = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for department in sorted(departments, key=lambda department: (department.region_id, department.code)):
        groups.setdefault(department.region.full_name, []).append((department.code, department.name))
    label = _("全部部门") if region_code or department_code else _("全部部门（先选地区可按部门筛选）")
    return [("", str(label)), *groups.items()]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("搜索服务"), max_length=QUERY_MAX_LENGTH, required=False, widget=forms.SearchInput())
    region = forms.ChoiceField(label=_("地区"), required=False)
    department = forms.ChoiceField(label=_("部门"), required=False)
    audience = forms.ChoiceField(label=_("服务对象"), choices=AUDIENCE_CHOICES, required=False)
    badge = forms.ChoiceField(label=_("网办程度"), choices=BADGE_CHOICES, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        region_code = str(self.data.get("region") or "")[:12]
        regions = region_choices()
        cast(forms.ChoiceField, self.fields["region"]).choices = [("", str(_("全部地区"))), *regions]
        known_region = region_code if any(code == region_code for code, _name in regions) else None
        cast(forms.ChoiceField, self.fields["department"]).choices = department_choices(
            region_code=known_region, department_code=str(self.data.get("department") or "")[:32] or None
        )

    def filters(self) -> dict[str, str | None]:
        """The valid filters; an unknown choice (an old bookmark, a typed address) is ignored."""
        self.is_valid()
        data = self.cleaned_data
        query = data.get("q") or str(self.data.get("q") or "")[:QUERY_MAX_LENGTH]
        return {
            "query": query.strip(),
            "region_code": data.get("region") or None,
            "department_code": data.get("department") or None,
            "audience": data.get("audience") or None,
            "badge": data.get("badge") or None,
        }
