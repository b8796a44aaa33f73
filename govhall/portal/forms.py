"""The search form: a GET form whose choices come from the published regions and departments."""

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from govhall.catalog.selectors import BADGE_AT_MOST_ONE_VISIT, BADGE_FULLY_ONLINE, BADGE_ZERO_VISIT
from govhall.org.models import Department, Region, RegionLevel
from govhall.org.selectors import department_list, region_list

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


def region_choices() -> list[tuple[str, str]]:
    """Province, cities and counties in code order, which is also the order of the tree."""
    regions: list[Region] = []
    for level in (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY):
        regions.extend(region_list(level=level))
    regions.sort(key=lambda region: region.code)
    return [("", str(_("全部地区")))] + [
        (region.code, f"{REGION_INDENT[RegionLevel(region.level)]}{region.name}") for region in regions
    ]


def department_choices() -> list[Any]:
    """Departments that carry out at least one item, grouped by region (as <optgroup>s)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    department: Department
    for department in department_list(with_implementations=True):
        groups.setdefault(department.region.full_name, []).append((department.code, department.name))
    return [("", str(_("全部部门"))), *groups.items()]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("搜索服务"), max_length=QUERY_MAX_LENGTH, required=False, widget=forms.SearchInput())
    region = forms.ChoiceField(label=_("地区"), required=False)
    department = forms.ChoiceField(label=_("部门"), required=False)
    audience = forms.ChoiceField(label=_("服务对象"), choices=AUDIENCE_CHOICES, required=False)
    badge = forms.ChoiceField(label=_("网办程度"), choices=BADGE_CHOICES, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["region"]).choices = region_choices()
        cast(forms.ChoiceField, self.fields["department"]).choices = department_choices()

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
