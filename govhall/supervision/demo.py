"""Demo: a few running cases of 西湖区 whose promised deadlines are near or past, so that the
supervisor of 杭州市 sees yellow and red warnings at once (demo only: their deadlines are moved
by an update after acceptance, which the live services never do)."""

import datetime
import logging
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from govhall.accounts.models import Person, StaffAssignment
from govhall.cases import calendar, services
from govhall.cases.models import Case, CaseTask, TaskState
from govhall.catalog.models import Implementation
from govhall.supervision.rules import scan

logger = logging.getLogger(__name__)
ITEM = "000145001000"  # 食品经营许可
# Working days from today to the promised deadline: past (red), today (yellow), comfortable.
DEADLINES = (-3, 0, 5)


def supervision_demo_load(*, applicant_name: str = "王五", region_code: str = "330106") -> int:
    """Three accepted demo cases with deadlines past, today and later; then one scan. Idempotent."""
    if Case.objects.filter(submit_key__startswith="demo-supervision-").exists():
        return 0
    from govhall.cases.management.commands.bench_data import _filler_data, sample_pdf_bytes

    person = Person.objects.filter(name=applicant_name, user__isnull=False).select_related("user").first()
    implementation = Implementation.objects.filter(entry__basic_code=ITEM, region_id=region_code).first()
    if person is None or implementation is None:
        return 0
    made = 0
    for number, offset in enumerate(DEADLINES):
        case = services.case_draft_start(user=person.user, implementation=implementation)
        data = {
            **_filler_data(case.form_definition, person.name),
            "business_items": ["预包装食品销售"],
            "business_name": f"王五食品店（{number + 1}号店）",
            "premises": {"region": region_code, "detail": f"龙井路 {number + 10} 号"},
            "area": 60,
            "staff": [{"name": person.name, "health_certificate_number": f"JK2026{number:04d}"}],
            "food_safety_manager": person.name,
        }
        data.update({key: value for key, value in case.data.items() if value})
        services.case_draft_save(case=case, user=person.user, data=data)
        case.refresh_from_db()
        for material in services.case_materials_required(case=case):
            services.case_material_add(
                case=case,
                user=person.user,
                material_name=material["name"],
                file=SimpleUploadedFile("材料.pdf", sample_pdf_bytes(size=4096, variant=number), "application/pdf"),
            )
        try:
            case = services.case_submit(case=case, user=person.user, submit_key=f"demo-supervision-{number}")
        except services.CaseInvalid as invalid:
            logger.warning("demo supervision case not submitted: %s", invalid)
            continue
        case = _accept(case)
        if case.promised_due_on is None:
            continue
        today = timezone.localdate()
        due = _working_day_offset(today, offset)
        Case.objects.filter(pk=case.pk).update(promised_due_on=due)
        made += 1
    scan()
    return made


def _accept(case: Case) -> Case:
    for kind, action, fields in (("prereview", "pass", {}), ("accept", "accept", {"opinion": "符合受理条件"})):
        task = CaseTask.objects.filter(case=case, state=TaskState.OPEN, kind=kind).first()
        if task is None:
            continue
        officer = _officer(task)
        if officer is not None:
            case = services.case_task_act(task=task, officer=officer, action=action, fields=fields)
    return case


def _officer(task: CaseTask) -> Any:
    assignment = (
        StaffAssignment.objects.filter(department=task.department, role=task.role).select_related("user").first()
    )
    return assignment.user if assignment is not None else None


def _working_day_offset(today: datetime.date, offset: int) -> datetime.date:
    if offset >= 0:
        return calendar.working_day_add(start=today, days=offset)
    day, left = today, -offset
    while left:
        day -= datetime.timedelta(days=1)
        if calendar.is_working_day(day=day):
            left -= 1
    return day
