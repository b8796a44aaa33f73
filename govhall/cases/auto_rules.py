"""Rule-based automatic approval (秒批): declarative rules, written as data in an ``auto_decide``
step of the process definition, over facts the platform holds.

    {"key": "auto", "kind": "auto_decide", "name": "自动审批", "rules_version": 2,
     "rules": [{"id": "age_60", "description": "年满60周岁且已实名核验",
                "all": [{"fact": "applicant.age", "op": "gte", "value": 60},
                        {"fact": "applicant.assurance_level", "op": "gte", "value": 2}]}]}

A rule approves when all of its conditions hold; the step approves when any rule does. A rule
never denies: a case no rule approves goes to the officer of the next (decide) step. Facts:

- ``form.<field>``                 a value of the application form
- ``applicant.assurance_level``    the person's assurance level (1–4)
- ``applicant.age``                full years, from the birth date in the identity number
- ``applicant.household_region``   the county code in the identity number (where it was issued)
- ``company.kind``                 the company's kind, when the case is a company's
- ``registry.company.registered``  whether the legal-person registry holds the company

Licences in the applicant's wallet join as ``wallet.<licence type code>`` once the licence
capability lands. Every evaluation is stored (``AutoDecision``) with the rules, their version and
the facts used.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext as _

OPERATORS = ("eq", "ne", "in", "not_in", "gte", "lte", "gt", "lt", "contains", "present")
FACT_PREFIXES = ("form.",)
FACTS = (
    "applicant.assurance_level",
    "applicant.age",
    "applicant.household_region",
    "company.kind",
    "registry.company.registered",
)


@dataclass(frozen=True)
class Evaluation:
    approved: bool
    matched_rule: str
    facts: dict[str, Any]


def auto_rules_check(*, step: dict[str, Any], path: str) -> list[tuple[str, str]]:
    """Problems of an ``auto_decide`` step's rules as (path, zh-hans message)."""
    problems: list[tuple[str, str]] = []
    version = step.get("rules_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append((f"{path}.rules_version", _("自动审批规则须注明版本号（正整数）。")))
    rules = step.get("rules")
    if not isinstance(rules, list) or not rules:
        problems.append((f"{path}.rules", _("自动审批环节至少要有一条规则。")))
        return problems
    identifiers: set[str] = set()
    for index, rule in enumerate(rules):
        rule_path = f"{path}.rules[{index}]"
        if not isinstance(rule, dict):
            problems.append((rule_path, _("规则须为对象。")))
            continue
        identifier = rule.get("id")
        if not isinstance(identifier, str) or not identifier or len(identifier) > 64 or identifier in identifiers:
            problems.append((f"{rule_path}.id", _("规则须有唯一的标识（不超过64个字符）。")))
        else:
            identifiers.add(identifier)
        if "deny" in rule or rule.get("outcome") not in (None, "approve"):
            problems.append((rule_path, _("自动审批规则只能准予，不能不予；不满足条件的转人工办理。")))
        conditions = rule.get("all")
        if not isinstance(conditions, list) or not conditions:
            problems.append((f"{rule_path}.all", _("规则至少要有一个条件。")))
            continue
        for number, condition in enumerate(conditions):
            problems.extend(_condition_check(condition, f"{rule_path}.all[{number}]"))
    return problems


def _condition_check(condition: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(condition, dict):
        return [(path, _("条件须为对象。"))]
    problems = []
    fact = condition.get("fact")
    if not isinstance(fact, str) or not (fact in FACTS or (fact.startswith(FACT_PREFIXES) and len(fact) > 5)):
        problems.append((f"{path}.fact", _("未知的事实“%(fact)s”。") % {"fact": fact}))
    operator = condition.get("op")
    if operator not in OPERATORS:
        problems.append((f"{path}.op", _("未知的比较方式“%(op)s”。") % {"op": operator}))
    elif operator in ("in", "not_in") and not isinstance(condition.get("value"), list):
        problems.append((f"{path}.value", _("in / not_in 的值须为列表。")))
    elif operator != "present" and "value" not in condition:
        problems.append((f"{path}.value", _("条件须给出比较的值。")))
    return problems


def auto_rules_evaluate(*, step: dict[str, Any], facts: dict[str, Any]) -> Evaluation:
    """Approve when every condition of some rule holds; otherwise hand over. Only the facts the
    rules name are kept in the evaluation (what the audit needs, nothing more)."""
    used = {
        condition["fact"]: facts.get(condition["fact"])
        for rule in step.get("rules") or []
        for condition in rule.get("all") or []
    }
    for rule in step.get("rules") or []:
        if all(_holds(condition, facts.get(condition["fact"])) for condition in rule.get("all") or []):
            return Evaluation(approved=True, matched_rule=rule["id"], facts=used)
    return Evaluation(approved=False, matched_rule="", facts=used)


def _holds(condition: dict[str, Any], value: Any) -> bool:
    operator = condition["op"]
    expected: Any = condition.get("value")
    if operator == "present":
        return value not in (None, "", [], {})
    if value is None:
        return False
    try:
        if operator == "eq":
            return bool(value == expected)
        if operator == "ne":
            return bool(value != expected)
        if operator == "in":
            return value in expected
        if operator == "not_in":
            return value not in expected
        if operator == "contains":
            return isinstance(value, list) and expected in value
        if operator == "gte":
            return bool(value >= expected)
        if operator == "lte":
            return bool(value <= expected)
        if operator == "gt":
            return bool(value > expected)
        if operator == "lt":
            return bool(value < expected)
    except TypeError:
        # A fact of another type than the rule expects (text against a number) does not hold.
        return False
    return False


def auto_facts(*, case: Any, today: date) -> dict[str, Any]:
    """The facts about a case the rules may use."""
    from govhall.accounts import privacy
    from govhall.accounts.models import RegistryCompany

    facts: dict[str, Any] = {f"form.{name}": value for name, value in (case.data or {}).items()}
    person = case.person
    if person is not None:
        facts["applicant.assurance_level"] = person.assurance_level
        number = privacy.decrypt(person.identity_number_encrypted, purpose="identity_number")
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        facts["applicant.age"] = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        facts["applicant.household_region"] = number[:6]
    if case.company is not None:
        facts["company.kind"] = case.company.kind
        facts["registry.company.registered"] = RegistryCompany.objects.filter(
            credit_code=case.company.credit_code
        ).exists()
    return facts
