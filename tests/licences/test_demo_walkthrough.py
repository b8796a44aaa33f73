"""The demo walk-through of issue 6: an approved 食品经营许可 case yields a signed licence in the
applicant's wallet, its QR page says valid, and a later application that needs it (公共场所卫生
许可 lists 食品经营许可证) does not ask for it."""

import pytest

from govhall.accounts.models import Person, StaffAssignment
from govhall.cases import services
from govhall.cases.models import CaseMaterial, CaseTask, TaskState, Trust
from govhall.catalog.models import Implementation
from govhall.licences.models import Licence
from tests.cases.factories import application_data, pdf_upload
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db

ACTIONS = {
    "prereview": ("pass", {}),
    "accept": ("accept", {"opinion": "符合受理条件"}),
    "review": ("opinion", {"agree": True, "opinion": "符合条件"}),
    "parallel": ("opinion", {"agree": True, "opinion": "符合条件"}),
    "decide": ("decide", {"decision": "approve"}),
    "issue_result": ("issue", {}),
    "deliver": ("deliver", {"method": "electronic"}),
    "verify": ("verify", {"truthful": True, "note": "核查属实"}),
}


def _apply(person: Person, basic_code: str):
    implementation = Implementation.objects.get(entry__basic_code=basic_code, region_id="330106")
    case = services.case_draft_start(user=person.user, implementation=implementation)
    services.case_draft_save(case=case, user=person.user, data=application_data(case))
    case.refresh_from_db()
    for material in services.case_materials_required(case=case):
        services.case_material_add(
            case=case, user=person.user, material_name=material["name"], file=pdf_upload(text=material["name"])
        )
    return services.case_submit(case=case, user=person.user, submit_key=f"demo-{basic_code}")


def _handle_to_the_end(case):
    for _round in range(20):
        task = CaseTask.objects.filter(case=case, state=TaskState.OPEN).order_by("id").first()
        if task is None:
            return case
        officer = StaffAssignment.objects.filter(department=task.department, role=task.role).first().user
        action, fields = ACTIONS[task.kind]
        case = services.case_task_act(task=task, officer=officer, action=action, fields=fields)
    raise AssertionError("the case did not complete")


def test_the_food_licence_walkthrough(client):
    from govhall.demo import demo_load

    demo_load()
    person = Person.objects.get(name="王五")  # L2, as 食品经营许可 needs

    case = _handle_to_the_end(_apply(person, "000145001000"))
    licence = Licence.objects.get(case=case)
    client.force_login(person.user)
    wallet = client.get("/licences/").content.decode()
    qr_page = client.get(f"/verify/{licence.identifier}/").content.decode()
    later = _apply(person, "000133002000")

    assert case.state == "completed" and case.result_reference == licence.number
    assert licence.licence_type.code == "SPJYXK" and licence.person == person
    assert licence.number in wallet
    assert "证照有效。" in qr_page
    filled = CaseMaterial.objects.get(case=later, material_name="食品经营许可证")
    assert (filled.trust, filled.licence_version.licence) == (Trust.A, licence)
    # The officer handling the later case sees it as a verified licence.
    officer = StaffAssignment.objects.filter(department=later.department, role="window_clerk").first().user
    force_login_verified(client, officer)
    page = client.get(f"/workbench/cases/{later.number}/").content.decode()
    assert "电子证照（已核验）" in page and licence.identifier in page
