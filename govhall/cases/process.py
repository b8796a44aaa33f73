"""Process definitions: the steps a case of an implementation goes through, stored as data.

A definition is a JSON object kept on the implementation (``Implementation.process_definition``,
versioned with the item) and copied into each case when it is filed::

    {"version": 1,
     "steps": [
       {"key": "prereview", "kind": "prereview", "name": "预审", "role": "window_clerk", "days": 1},
       {"key": "accept", "kind": "accept", "name": "受理", "role": "window_clerk", "days": 1},
       {"key": "joint", "kind": "parallel", "name": "并联审查", "days": 3, "branches": [
           {"key": "market", "name": "食品安全审查", "role": "reviewer", "lead": true},
           {"key": "ecology", "name": "油烟排放审查", "department_kind": "ecology", "role": "reviewer",
            "when": {"field": "business_items", "contains": "餐饮服务"}}]},
       {"key": "decide", "kind": "decide", "name": "决定", "role": "decider", "days": 1},
       {"key": "issue", "kind": "issue_result", "name": "制证", "role": "window_clerk", "days": 1},
       {"key": "deliver", "kind": "deliver", "name": "送达", "role": "window_clerk", "days": 1}]}

Who acts: ``role`` (a staff role) in a department — the implementation's own by default,
``department_kind`` for that kind of department in the same region (所属区划的生态环境部门), or
``department`` naming one department by code. ``when`` makes a step or branch conditional on the
application form's values. ``days`` is the step's own limit in working days.

Step kinds are a registry (``STEP_KINDS``): the engine in services.py asks a kind which actions
it offers and what entering it does. Later capabilities (automatic rule-based approval, transfer
from a receiving office to the competent one, linked cases of a bundle, post-approval
verification) arrive as new kinds here, not as special cases in the engine.
"""

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govhall.accounts.models import Role

HANDLING_ROLES = (Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER, Role.DEPARTMENT_ADMINISTRATOR)


@dataclass(frozen=True)
class StepKind:
    """What a kind of step is: its label, the actions an officer may take on its task, and
    whether it opens one task per branch."""

    key: str
    label: Any
    actions: tuple[str, ...]
    default_role: str
    parallel: bool = False
    # Decided by the engine on entry (no officer acts): 秒批.
    automatic: bool = False
    # Actions every task of this kind also offers (claim, transfer, return).
    common_actions: tuple[str, ...] = field(default=("claim", "transfer", "return"))


STEP_KINDS: dict[str, StepKind] = {
    kind.key: kind
    for kind in (
        # 收受分离: the office that received the application elsewhere checks identity and formal
        # completeness and forwards the file to the competent department (prepended at filing).
        StepKind("receive", gettext_lazy("收件转办"), ("forward", "correct", "refuse"), Role.WINDOW_CLERK),
        StepKind("prereview", gettext_lazy("预审"), ("pass", "correct", "refuse"), Role.WINDOW_CLERK),
        StepKind("accept", gettext_lazy("受理"), ("accept", "correct", "refuse"), Role.WINDOW_CLERK),
        StepKind("review", gettext_lazy("审查"), ("opinion",), Role.REVIEWER),
        StepKind("parallel", gettext_lazy("并联审查"), ("opinion",), Role.REVIEWER, parallel=True),
        StepKind("auto_decide", gettext_lazy("自动审批"), (), Role.DECIDER, automatic=True),
        StepKind("decide", gettext_lazy("决定"), ("decide",), Role.DECIDER),
        StepKind("issue_result", gettext_lazy("制证"), ("issue",), Role.WINDOW_CLERK),
        StepKind("deliver", gettext_lazy("送达"), ("deliver",), Role.WINDOW_CLERK),
        # 告知承诺制: after approval on a commitment, the department verifies it within a deadline.
        # Opened by the engine beside the process (it does not hold up delivery), never written
        # in a definition.
        StepKind("verify", gettext_lazy("承诺核查"), ("verify",), Role.REVIEWER),
    )
}

# Steps before acceptance may send the application back for correction or refuse it; steps after
# acceptance (review onwards) may return the case to an earlier step of their own kind group.
INTAKE_KINDS = ("receive", "prereview", "accept")
# The receiving office's limit for checking and forwarding the file (收受分离).
RECEIVE_DAYS = 1
RETURNABLE_KINDS = ("review", "parallel", "decide", "issue_result")
CONDITION_OPERATORS = ("equals", "in", "contains")


class ProcessDefinitionError(ValueError):
    """A definition that cannot be run; ``problems`` are (path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


def process_definition_check(
    *, definition: dict[str, Any], department_kinds: set[str] | None = None
) -> list[tuple[str, str]]:
    """Every problem of a definition as (path, zh-hans message); an empty dict is the standard
    process and has none. ``department_kinds`` (when given) are the kinds a branch may name."""
    if not definition:
        return []
    problems: list[tuple[str, str]] = []
    steps = definition.get("steps")
    if not isinstance(steps, list) or not steps:
        return [("steps", _("流程至少要有一个环节。"))]
    keys: set[str] = set()
    kinds: list[str] = []
    for index, step in enumerate(steps):
        path = f"steps[{index}]"
        if not isinstance(step, dict):
            problems.append((path, _("环节须为对象。")))
            continue
        kind = step.get("kind")
        kinds.append(str(kind))
        if kind == "verify":
            problems.append((f"{path}.kind", _("承诺核查由系统在准予后自动生成，不能写入流程。")))
            continue
        _step_common_check(step, path, keys, problems, department_kinds)
        if kind not in STEP_KINDS:
            problems.append((f"{path}.kind", _("未知的环节类型“%(kind)s”。") % {"kind": kind}))
            continue
        if STEP_KINDS[kind].parallel:
            _branches_check(step, path, keys, problems, department_kinds)
        elif STEP_KINDS[kind].automatic:
            from govhall.cases.auto_rules import auto_rules_check

            problems.extend(auto_rules_check(step=step, path=path))
        elif "when" in step and kind in ("accept", "decide", "deliver"):
            problems.append((f"{path}.when", _("受理、决定和送达环节不能附条件。")))
    _order_check(kinds, problems)
    return problems


def _step_common_check(
    step: dict[str, Any],
    path: str,
    keys: set[str],
    problems: list[tuple[str, str]],
    department_kinds: set[str] | None,
) -> None:
    key = step.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 64:
        problems.append((f"{path}.key", _("环节标识必须填写，且不超过64个字符。")))
    elif key in keys:
        problems.append((f"{path}.key", _("环节标识“%(key)s”重复。") % {"key": key}))
    else:
        keys.add(key)
    name = step.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        problems.append((f"{path}.name", _("环节名称必须填写，且不超过64个字符。")))
    days = step.get("days", 0)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
        problems.append((f"{path}.days", _("环节时限须为0到365之间的整数（工作日）。")))
    role = step.get("role")
    if role is not None and role not in HANDLING_ROLES:
        problems.append((f"{path}.role", _("办理岗位“%(role)s”不能办理办件。") % {"role": role}))
    if step.get("department_kind") and step.get("department"):
        problems.append((path, _("部门类别与部门编码只能指定一个。")))
    kind_named = step.get("department_kind")
    if kind_named and department_kinds is not None and kind_named not in department_kinds:
        problems.append((f"{path}.department_kind", _("没有类别为“%(kind)s”的部门。") % {"kind": kind_named}))
    if "when" in step:
        _condition_check(step["when"], f"{path}.when", problems)


def _branches_check(
    step: dict[str, Any],
    path: str,
    keys: set[str],
    problems: list[tuple[str, str]],
    department_kinds: set[str] | None,
) -> None:
    branches = step.get("branches")
    if not isinstance(branches, list) or len(branches) < 2:
        problems.append((f"{path}.branches", _("并联环节至少要有两个分支。")))
        return
    leads = 0
    for index, branch in enumerate(branches):
        branch_path = f"{path}.branches[{index}]"
        if not isinstance(branch, dict):
            problems.append((branch_path, _("分支须为对象。")))
            continue
        _step_common_check({"days": step.get("days", 0), **branch}, branch_path, keys, problems, department_kinds)
        if branch.get("lead"):
            leads += 1
            if "when" in branch:
                problems.append((f"{branch_path}.when", _("牵头部门的分支不能附条件。")))
    if leads != 1:
        problems.append((f"{path}.branches", _("并联环节须有且只有一个牵头部门。")))


def _condition_check(condition: Any, path: str, problems: list[tuple[str, str]]) -> None:
    if not isinstance(condition, dict) or not isinstance(condition.get("field"), str):
        problems.append((path, _("条件须指明表单字段。")))
        return
    operators = [operator for operator in CONDITION_OPERATORS if operator in condition]
    if len(operators) != 1:
        problems.append((path, _("条件须使用 equals、in 或 contains 之一。")))
    elif operators[0] == "in" and not isinstance(condition["in"], list):
        problems.append((path, _("in 条件的值须为列表。")))


def _order_check(kinds: list[str], problems: list[tuple[str, str]]) -> None:
    if kinds.count("accept") != 1:
        problems.append(("steps", _("流程须有且只有一个受理环节。")))
    if kinds.count("decide") > 1 or kinds.count("deliver") != 1:
        problems.append(("steps", _("流程须有一个送达环节，决定环节至多一个。")))
    if "prereview" in kinds and "accept" in kinds and kinds.index("prereview") > kinds.index("accept"):
        problems.append(("steps", _("预审须在受理之前。")))
    if "accept" in kinds:
        before = [kind for kind in kinds[: kinds.index("accept")] if kind != "receive"]
        # 秒批 may come first: approved, the case is accepted and decided in one go.
        if before[:1] == ["auto_decide"]:
            before = before[1:]
        if any(kind not in INTAKE_KINDS for kind in before):
            problems.append(("steps", _("受理之前只能有预审环节（秒批的自动审批可作为第一个环节）。")))
    if "receive" in kinds and kinds.index("receive") != 0:
        problems.append(("steps", _("收件转办只能是第一个环节。")))
    if "auto_decide" in kinds:
        after = kinds[kinds.index("auto_decide") + 1 :]
        # Whoever decides a case the rules do not approve: a decide step, or (without one) the
        # acceptance, which then decides as for an immediate case.
        if "decide" not in after and not ("decide" not in kinds and "accept" in after):
            problems.append(
                ("steps", _("自动审批之后须有人工决定（或受理即决定）的环节，不满足规则的办件转人工办理。"))
            )
    if kinds and kinds[-1] != "deliver":
        problems.append(("steps", _("送达须为最后一个环节。")))
    if "issue_result" in kinds and "decide" in kinds and kinds.index("issue_result") < kinds.index("decide"):
        problems.append(("steps", _("制证须在决定之后。")))


def process_definition_standard(
    *,
    immediate: bool,
    online: bool,
    promised_days: int,
    issues_result: bool,
    step_names: list[str] | None = None,
) -> dict[str, Any]:
    """The standard process of an implementation without its own definition.

    Immediate cases (即办件) are decided at acceptance; committed cases go through review and
    decision, the review taking what the promised limit leaves after the other steps.
    """
    steps: list[dict[str, Any]] = []
    if online:
        steps.append({"key": "prereview", "kind": "prereview", "name": "预审", "role": Role.WINDOW_CLERK, "days": 1})
    steps.append({"key": "accept", "kind": "accept", "name": "受理", "role": Role.WINDOW_CLERK, "days": 1})
    if not immediate:
        review_days = max(1, promised_days - 2)
        review_name = _review_name(step_names)
        steps.append(
            {"key": "review", "kind": "review", "name": review_name, "role": Role.REVIEWER, "days": review_days}
        )
        steps.append({"key": "decide", "kind": "decide", "name": "决定", "role": Role.DECIDER, "days": 1})
    if issues_result:
        steps.append({"key": "issue", "kind": "issue_result", "name": "制证", "role": Role.WINDOW_CLERK, "days": 1})
    steps.append({"key": "deliver", "kind": "deliver", "name": "送达", "role": Role.WINDOW_CLERK, "days": 1})
    return {"version": 1, "steps": steps}


def _review_name(step_names: list[str] | None) -> str:
    for name in step_names or []:
        if "审" in name and "受理" not in name:
            return name[:64]
    return "审查"


def process_for_intake(*, definition: dict[str, Any], at_window: bool, receiving_elsewhere: bool) -> dict[str, Any]:
    """The process a case follows given where it was received: at a window the clerk checks the
    applicant in person, so there is no online prereview; received by another region's office,
    that office's receive-and-forward step comes first (收受分离)."""
    steps = steps_of(definition)
    if at_window or receiving_elsewhere:
        steps = [step for step in steps if step["kind"] != "prereview"]
    if receiving_elsewhere:
        steps = [
            {
                "key": "receive",
                "kind": "receive",
                "name": "异地收件转办",
                "role": Role.WINDOW_CLERK,
                "days": RECEIVE_DAYS,
            },
            *steps,
        ]
    return {**definition, "steps": steps}


def condition_holds(condition: dict[str, Any] | None, data: dict[str, Any]) -> bool:
    """Does the form data meet a step's (or a field's) condition? No condition always holds."""
    if not condition:
        return True
    value = data.get(condition["field"])
    if "equals" in condition:
        return bool(value == condition["equals"])
    if "in" in condition:
        return value in condition["in"]
    if "contains" in condition:
        return isinstance(value, list) and condition["contains"] in value
    return False


def step_kind(step: dict[str, Any]) -> StepKind:
    return STEP_KINDS[step["kind"]]


def steps_of(definition: dict[str, Any]) -> list[dict[str, Any]]:
    return list(definition.get("steps") or [])


def step_find(definition: dict[str, Any], key: str) -> dict[str, Any] | None:
    return next((step for step in steps_of(definition) if step["key"] == key), None)


def step_after(definition: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The steps after ``key``, in order."""
    steps = steps_of(definition)
    index = next(index for index, step in enumerate(steps) if step["key"] == key)
    return steps[index + 1 :]


def step_first_of_kind(definition: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((step for step in steps_of(definition) if step["kind"] == kind), None)


def process_decides_at_acceptance(definition: dict[str, Any]) -> bool:
    """No decide step: the acceptance decides (即办件)."""
    return not any(step["kind"] == "decide" for step in steps_of(definition))


def process_has_parallel_step(definition: dict[str, Any]) -> bool:
    return any(STEP_KINDS[step["kind"]].parallel for step in steps_of(definition) if step["kind"] in STEP_KINDS)
