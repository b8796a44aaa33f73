"""The applicant's case pages through the test client: apply, fill in, upload, submit, follow the
case, answer a correction, withdraw, read messages; and who may see what (404 for anyone else)."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.page_forms import form_fields
from govhall.cases import selectors, services
from govhall.cases.models import Case, CaseMaterial, CaseState
from govhall.notices.selectors import inbox_latest
from tests.cases.factories import case_world, make_case, make_draft, pdf_upload, task_open
from tests.factories import make_implementation
from tests.portal.test_guide import page_text

pytestmark = pytest.mark.django_db

APPLICATION_FORM = "食品经营许可申请书"


@pytest.fixture
def world():
    return case_world()


def as_citizen(client, person):
    client.force_login(person.user)
    return client


def apply_url(implementation):
    return reverse("cases_portal:apply", args=[implementation.implementation_code])


def edit_url(case):
    return reverse("cases_portal:edit", args=[selectors.case_reference(case)])


def detail_url(case):
    return reverse("cases_portal:detail", args=[selectors.case_reference(case)])


def page_form(client, case) -> dict:
    """What a browser would send back from the edit page as it is shown."""
    response = client.get(edit_url(case))
    assert response.status_code == 200
    return form_fields(response.content.decode(), form_id="case-form")


def upload_input(response, material_name: str) -> str:
    """The name of the file input the page offers for one material."""
    found = re.search(rf'<label for="(material-\d+)">(?:重新)?上传“{material_name}”</label>', response.content.decode())
    assert found, f"no upload input for {material_name}"
    return found[1]


def filled_in(fields: dict, **values) -> dict:
    """The standard form answered for oneself, with electronic delivery."""
    fields.update(
        {
            "f-applicant_kind": "person",
            "f-application_statement": "申请在西湖区开办食品店",
            "f-delivery": "electronic",
        }
    )
    fields.update(values)
    return fields


# ---------------------------------------------------------------------------------------------
# Applying


def test_apply_save_upload_and_submit_ends_on_the_case_page_with_its_number_and_prereview_step(client, world):
    as_citizen(client, world.applicant)

    # The person represents a company, so the choice page comes first; the person applies for themself.
    choice = client.get(apply_url(world.implementation))
    assert choice.status_code == 200
    assert world.company.name in page_text(choice)
    response = client.post(apply_url(world.implementation), {"applicant": "self"})
    case = Case.objects.get(applicant=world.applicant.user, state=CaseState.DRAFT)
    assert response.status_code == 302
    assert response["Location"] == edit_url(case)

    # A value that breaks the form's rules is kept, saved, and explained on its field in zh-hans.
    fields = filled_in(page_form(client, case), **{"f-application_statement": "店", "action": "save"})
    assert fields["f-applicant_name"] == "王五"
    response = client.post(edit_url(case), fields)
    content = response.content.decode()
    assert response.status_code == 400
    assert "「申请事项说明」至少填写 2 个字" in page_text(response)
    assert 'id="f-application_statement-error"' in content
    assert re.search(r'<textarea id="f-application_statement"[^>]*aria-invalid="true"[^>]*>店</textarea>', content)
    case.refresh_from_db()
    assert case.data["application_statement"] == "店"

    # Uploading saves what was typed in the same request.
    page = client.get(edit_url(case))
    fields = filled_in(page_form(client, case), action="upload")
    fields[upload_input(page, APPLICATION_FORM)] = pdf_upload("申请书.pdf")
    response = client.post(edit_url(case), fields)
    assert response.status_code == 302
    assert [(m.material_name, m.original_name) for m in selectors.case_materials_current(case=case)] == [
        (APPLICATION_FORM, "申请书.pdf")
    ]
    case.refresh_from_db()
    assert case.data["application_statement"] == "申请在西湖区开办食品店"

    response = client.post(edit_url(case), {**page_form(client, case), "action": "submit"})

    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert response.status_code == 302
    assert response["Location"] == detail_url(case)
    text = page_text(client.get(detail_url(case)))
    assert case.number in text
    assert "当前环节 网上预审" in text
    assert "提交申请" in text  # the timeline's first line


def test_edit_page_lists_each_material_as_required_optional_or_shared(client, world):
    case = make_draft(world=world, materials=False)
    as_citizen(client, world.applicant)

    response = client.get(edit_url(case))

    text = page_text(response)
    assert f"{APPLICATION_FORM} 必须提交" in text
    assert "营业执照 由部门共享，无需提交" in text
    assert "授权委托书 按需提交 情形：委托代理人办理的" in text
    assert 'name="submit_key"' in response.content.decode()


# A form of the item's own: the power of attorney is required only when an agent applies.
AGENT_FORM = {
    "version": 1,
    "schema": {
        "type": "object",
        "properties": {
            "application_statement": {"type": "string", "title": "申请事项说明", "minLength": 2, "maxLength": 200},
            "by_agent": {"type": "boolean", "title": "是否委托代理人办理"},
        },
        "required": ["application_statement", "by_agent"],
    },
    "layout": [{"section": "申请内容", "section_en": "Application", "fields": ["application_statement", "by_agent"]}],
    "fields": {"application_statement": {"widget": "textarea"}, "by_agent": {"widget": "choice"}},
    "materials": {"授权委托书": {"required_when": {"field": "by_agent", "equals": True}}},
}


def test_a_conditional_material_appears_and_is_required_once_its_condition_holds(client, world):
    implementation = make_implementation(region_code=world.market.region_id, application_form=AGENT_FORM)
    case = services.case_draft_start(user=world.applicant.user, implementation=implementation)
    as_citizen(client, world.applicant)

    before = client.get(edit_url(case)).content.decode()
    fields = {
        **page_form(client, case),
        "f-application_statement": "代办申请",
        "f-by_agent": "true",
        "action": "submit",
    }
    fields[upload_input(client.get(edit_url(case)), APPLICATION_FORM)] = pdf_upload()
    after = client.post(edit_url(case), fields)

    # Hidden (forms.js shows it as the answer changes) while nobody said an agent applies ...
    assert re.search(r'<li class="material" id="material-\d+-item" data-show-when="[^"]*by_agent[^"]*" hidden>', before)
    # ... then shown, required and named as missing.
    assert after.status_code == 400
    assert "授权委托书 必须提交" in page_text(after)
    assert "请上传“授权委托书”。" in page_text(after)
    assert not re.search(r'id="material-\d+-item" data-show-when="[^"]*" hidden>', after.content.decode())


def test_submitting_without_a_required_material_names_it_and_keeps_the_answers(client, world):
    case = make_draft(world=world, materials=False)
    as_citizen(client, world.applicant)
    fields = filled_in(page_form(client, case), **{"f-application_statement": "我的申请说明", "action": "submit"})

    response = client.post(edit_url(case), fields)

    assert response.status_code == 400
    assert "请上传“食品经营许可申请书”。" in page_text(response)
    assert ">我的申请说明</textarea>" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.DRAFT


def test_an_upload_that_is_not_an_allowed_file_is_refused_on_its_material_and_nothing_typed_is_lost(client, world):
    case = make_draft(world=world, materials=False)
    as_citizen(client, world.applicant)
    page = client.get(edit_url(case))
    fields = filled_in(page_form(client, case), **{"f-application_statement": "未保存的说明", "action": "upload"})
    fields[upload_input(page, APPLICATION_FORM)] = SimpleUploadedFile(
        "申请书.exe", b"MZ\x90\x00binary", "application/pdf"
    )

    response = client.post(edit_url(case), fields)

    content = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'id="material-\d+-error"><li>只接受 PDF、JPEG、PNG 或 OFD 格式的文件。</li>', content)
    assert ">未保存的说明</textarea>" in content
    assert selectors.case_materials_current(case=case) == []


def test_submitting_the_same_page_twice_makes_one_case(client, world):
    case = make_draft(world=world)
    as_citizen(client, world.applicant)
    fields = filled_in(page_form(client, case), action="submit")

    first = client.post(edit_url(case), fields)
    second = client.post(edit_url(case), fields)

    submitted = Case.objects.filter(applicant=world.applicant.user).exclude(state=CaseState.DRAFT)
    assert submitted.count() == 1
    assert first["Location"] == second["Location"] == detail_url(submitted.get())


def test_the_same_submit_key_on_a_second_draft_returns_the_first_case(client, world):
    first_draft = make_draft(world=world)
    as_citizen(client, world.applicant)
    fields = filled_in(page_form(client, first_draft), action="submit")
    client.post(edit_url(first_draft), fields)
    second_draft = make_draft(world=world)

    response = client.post(
        edit_url(second_draft),
        {**filled_in(page_form(client, second_draft)), "action": "submit", "submit_key": fields["submit_key"]},
    )

    first_draft.refresh_from_db()
    second_draft.refresh_from_db()
    assert response["Location"] == detail_url(first_draft)
    assert second_draft.state == CaseState.DRAFT


def test_a_person_below_the_items_level_is_refused_on_the_guide_with_a_way_to_raise_it(client, world):
    as_citizen(client, world.low_level_applicant)

    response = client.post(apply_url(world.implementation), {"applicant": "self"})

    text = page_text(response)
    assert response.status_code == 403
    assert "该事项需要实名认证等级L2，您当前为L1" in text
    assert f'href="{reverse("accounts:account")}"' in response.content.decode()
    assert "申请材料" in text  # the guide itself is shown under the notice
    assert not Case.objects.filter(applicant=world.low_level_applicant.user).exists()


def test_applying_for_a_company_one_may_not_act_for_is_refused(client, world):
    as_citizen(client, world.other_applicant)

    response = client.post(apply_url(world.implementation), {"applicant": world.company.credit_code})

    assert response.status_code == 400
    assert "请选择为谁申请。" in page_text(response)
    assert not Case.objects.filter(applicant=world.other_applicant.user).exists()


def test_the_pages_ask_an_anonymous_visitor_to_log_in_first(client, world):
    response = client.get(apply_url(world.implementation))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={apply_url(world.implementation)}"


def test_reusing_a_file_from_an_earlier_case_stores_it_for_the_new_case(client, world):
    earlier = make_case(world=world, until="submitted")
    case = make_draft(world=world, materials=False)
    as_citizen(client, world.applicant)
    page = client.get(edit_url(case))
    source = CaseMaterial.objects.get(case=earlier, material_name=APPLICATION_FORM)
    reuse_input = upload_input(page, APPLICATION_FORM).replace("material-", "reuse-")
    assert f'<option value="{source.pk}">办件 {earlier.number}' in page.content.decode()

    response = client.post(
        edit_url(case), {**filled_in(page_form(client, case)), reuse_input: str(source.pk), "action": "upload"}
    )

    assert response.status_code == 302
    [reused] = selectors.case_materials_current(case=case)
    assert (reused.material_name, reused.reused_from_id, reused.sha256) == (APPLICATION_FORM, source.pk, source.sha256)


# ---------------------------------------------------------------------------------------------
# Who may see what


def test_another_citizen_gets_not_found_for_the_case_its_form_and_its_files(client, world):
    case = make_case(world=world, until="submitted")
    draft = make_draft(world=world, implementation=world.immediate_implementation)
    material = CaseMaterial.objects.filter(case=case).first()
    as_citizen(client, world.other_applicant)

    addresses = [
        detail_url(case),
        edit_url(case),
        edit_url(draft),
        reverse("cases_portal:material", args=[case.number, material.pk]),
    ]

    assert [client.get(address).status_code for address in addresses] == [404, 404, 404, 404]
    assert client.post(reverse("cases_portal:withdraw", args=[case.number]), {"reason": "x"}).status_code == 404
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert case.number not in page_text(client.get(reverse("cases_portal:list")))


def test_the_applicant_downloads_a_material_as_an_attachment(client, world):
    case = make_case(world=world, until="submitted")
    material = CaseMaterial.objects.get(case=case, material_name=APPLICATION_FORM)
    as_citizen(client, world.applicant)

    response = client.get(reverse("cases_portal:material", args=[case.number, material.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.7")


def test_a_companys_agent_sees_the_companys_case(client, world):
    case = make_case(world=world, until="submitted", company=world.company)
    as_citizen(client, world.agent)

    listed = client.get(reverse("cases_portal:list"))
    shown = client.get(detail_url(case))

    assert case.number in page_text(listed)
    assert shown.status_code == 200
    assert world.company.name in page_text(shown)


# ---------------------------------------------------------------------------------------------
# Following a case


def test_my_cases_lists_submitted_cases_with_step_and_drafts_apart(client, world):
    submitted = make_case(world=world, until="submitted")
    draft = make_draft(world=world, implementation=world.immediate_implementation)
    as_citizen(client, world.applicant)

    response = client.get(reverse("cases_portal:list"))

    text = page_text(response)
    assert f"{submitted.number} {submitted.item_name} 王五" in text
    assert "已申报 网上预审" in text
    assert f'href="{edit_url(draft)}"' in response.content.decode()
    assert "继续填写" in text
    assert "draft-" not in text  # drafts are not in the case table


def test_my_cases_row_links_its_case_and_escapes_every_text(client, world):
    """The rows are written by Python (``views_cases._case_rows_html``), not by the template:
    the number links to the case, the day submitted is shown in the platform's time zone, and
    the item's and applicant's names are text whatever they hold."""
    case = make_case(world=world, until="accepted")
    Case.objects.filter(pk=case.pk).update(item_name='<img src=x onerror="1">食品', applicant_name="王&五")
    case.refresh_from_db()
    as_citizen(client, world.applicant)

    page = client.get(reverse("cases_portal:list")).content.decode()

    row = re.search(rf'<tr>\s*<th scope="row"><a class="code" href="[^"]+">{case.number}</a>.*?</tr>', page, re.S)
    assert row is not None
    assert f'href="{detail_url(case)}"' in row.group(0)
    assert "<td>&lt;img src=x onerror=&quot;1&quot;&gt;食品</td>" in row.group(0)
    assert "<td>王&amp;五</td>" in row.group(0)
    assert f"<td>{timezone.localtime(case.submitted_at).date().isoformat()}</td>" in row.group(0)
    assert "<td>办理中</td>" in row.group(0)
    assert "badge-time-" in row.group(0)
    assert "<img src=x" not in page


def test_my_cases_shows_days_left_and_filters_by_state(client, world):
    accepted = make_case(world=world, until="accepted")
    submitted = make_case(world=world, until="submitted")
    as_citizen(client, world.applicant)

    response = client.get(reverse("cases_portal:list"), {"state": CaseState.ACCEPTED})

    text = page_text(response)
    status = selectors.case_time_status(case=accepted)
    assert accepted.number in text
    assert submitted.number not in text
    assert f"剩余 {status.days_left} 个工作日" in text
    assert f"badge-time-{status.level}" in response.content.decode()


@pytest.mark.parametrize(
    ("days_left", "level", "paused", "chinese", "english"),
    [
        (3, "green", False, "剩余 3 个工作日", "3 working days left"),
        (1, "green", False, "剩余 1 个工作日", "1 working day left"),
        (0, "yellow", False, "剩余 0 个工作日（即将到期）", "0 working days left (due soon)"),
        (-1, "red", False, "已超期 1 个工作日", "1 working day overdue"),
        (-2, "red", False, "已超期 2 个工作日", "2 working days overdue"),
        (5, "green", True, "剩余 5 个工作日（暂停计时）", "5 working days left (time limit paused)"),
        (
            1,
            "yellow",
            True,
            "剩余 1 个工作日（即将到期）（暂停计时）",
            "1 working day left (due soon) (time limit paused)",
        ),
    ],
)
def test_the_time_badge_in_both_languages(days_left, level, paused, chinese, english):
    from django.template import Context, Template
    from django.utils import translation

    template = Template("{% load cases_tags %}{% time_badge time %}")
    status = selectors.TimeStatus(due_on=None, statutory_due_on=None, days_left=days_left, level=level, paused=paused)
    badge = f'<span class="badge badge-time badge-time-{level}">{{}}</span>'
    with translation.override("zh-hans"):
        assert template.render(Context({"time": status})) == badge.format(chinese)
    with translation.override("en"):
        assert template.render(Context({"time": status})) == badge.format(english)
    no_limit = selectors.TimeStatus(due_on=None, statutory_due_on=None, days_left=None, level="", paused=False)
    assert template.render(Context({"time": no_limit})) == "—"


def test_my_cases_list_does_not_query_more_for_more_cases(client, world, django_assert_max_num_queries):
    for _ in range(3):
        make_case(world=world, until="accepted")
    as_citizen(client, world.applicant)
    with CaptureQueriesContext(connection) as three:
        assert client.get(reverse("cases_portal:list")).status_code == 200
    for _ in range(7):
        make_case(world=world, until="accepted")

    with django_assert_max_num_queries(len(three)):
        response = client.get(reverse("cases_portal:list"))

    assert response.content.decode().count('class="badge badge-time badge-time-') == 10


def test_the_case_page_shows_time_limits_timeline_materials_and_the_form(client, world):
    case = make_case(world=world, until="accepted")
    as_citizen(client, world.applicant)

    response = client.get(detail_url(case))

    text = page_text(response)
    status = selectors.case_time_status(case=case)
    assert f"承诺办结期限 {case.promised_due_on:%Y-%m-%d}" in text
    assert f"法定办结期限 {case.statutory_due_on:%Y-%m-%d}" in text
    assert f"剩余 {status.days_left} 个工作日" in text
    assert "当前环节 并联审查" in text
    assert re.search(r"提交申请 .*网上预审 预审通过 .*受理 受理", text)
    assert "下载 申请书.pdf" in text
    assert "申请事项说明 测试内容" in text
    assert f'action="{reverse("cases_portal:withdraw", args=[case.number])}"' in response.content.decode()


def test_the_case_page_tells_that_the_clock_stops_during_a_special_procedure(client, world):
    case = make_case(world=world, until="accepted")
    services.case_special_procedure_start(
        case=case, officer=world.reviewer, kind="inspection", reason="需要现场核查经营场所", expected_days=5
    )
    as_citizen(client, world.applicant)

    text = page_text(client.get(detail_url(case)))

    assert "办理时限暂停计时" in text
    assert "进行现场核查，预计 5 个工作日" in text


def test_the_case_page_asks_for_special_procedures_only_while_the_clock_is_stopped(client, world):
    case = make_case(world=world, until="accepted")
    as_citizen(client, world.applicant)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail_url(case)).status_code == 200
    assert not [query for query in queries.captured_queries if '"cases_specialprocedure"' in query["sql"]]

    procedure = services.case_special_procedure_start(
        case=case, officer=world.reviewer, kind="inspection", reason="需要现场核查经营场所", expected_days=5
    )
    assert "办理时限暂停计时" in page_text(client.get(detail_url(case)))
    services.case_special_procedure_end(procedure=procedure, officer=world.reviewer, result="核查完毕")
    assert "办理时限暂停计时" not in page_text(client.get(detail_url(case)))


def test_the_case_page_shows_a_refusal_with_reasons_and_legal_remedy(client, world):
    case = make_case(world=world, until="submitted")
    services.case_refuse(task=task_open(case, kind="prereview"), officer=world.clerk, reasons="不属于本部门职权范围")
    as_citizen(client, world.applicant)

    response = client.get(detail_url(case))

    text = page_text(response)
    assert "不予受理 理由 不属于本部门职权范围" in text
    assert "行政复议" in text
    assert "撤回申请" not in text


def test_the_case_page_shows_the_decision_and_result(client, world):
    case = make_case(world=world, until="completed")
    as_citizen(client, world.applicant)

    text = page_text(client.get(detail_url(case)))

    assert "决定 准予" in text
    assert "结果文书编号 SP3301060001" in text
    assert "送达方式 电子送达" in text
    assert "已办结" in text


def test_the_applicant_answers_a_correction_notice_from_the_case_page(client, world):
    case = make_case(world=world, until="submitted")
    services.case_correction_notify(
        task=task_open(case, kind="prereview"),
        officer=world.clerk,
        items=[
            {"subject": APPLICATION_FORM, "problem": "缺少申请人签名"},
            {"subject": "申请事项说明", "problem": "未写明经营项目"},
        ],
        note="请一次补齐",
    )
    as_citizen(client, world.applicant)

    detail = client.get(detail_url(case))
    assert "食品经营许可申请书 ：缺少申请人签名 申请事项说明 ：未写明经营项目 请一次补齐 去补正" in page_text(detail)
    assert f'href="{edit_url(case)}"' in detail.content.decode()

    page = client.get(edit_url(case))
    assert "缺少申请人签名" in page_text(page)
    assert "提交补正" in page_text(page)
    fields = {
        **page_form(client, case),
        "f-application_statement": "经营预包装食品销售",
        "correction_note": "已签名并补充经营项目",
        "action": "correct",
        upload_input(page, APPLICATION_FORM): pdf_upload("签名版申请书.pdf", text="signed"),
    }
    response = client.post(edit_url(case), fields)

    case.refresh_from_db()
    assert response.status_code == 302
    assert case.state == CaseState.SUBMITTED
    assert case.data["application_statement"] == "经营预包装食品销售"
    notice = case.corrections.get()
    assert (notice.answer_note, notice.answered_at is not None) == ("已签名并补充经营项目", True)
    assert [
        m.original_name for m in selectors.case_materials_current(case=case) if m.material_name == APPLICATION_FORM
    ] == ["签名版申请书.pdf"]
    assert task_open(case, kind="prereview") is not None


def test_the_applicant_withdraws_a_submitted_case(client, world):
    case = make_case(world=world, until="submitted")
    as_citizen(client, world.applicant)

    response = client.post(reverse("cases_portal:withdraw", args=[case.number]), {"reason": "不再经营"})

    case.refresh_from_db()
    assert response.status_code == 302
    assert case.state == CaseState.WITHDRAWN
    text = page_text(client.get(detail_url(case)))
    assert "已撤回" in text
    assert "撤回原因" not in text  # no withdraw form any more
    assert "不再经营" in text  # the timeline keeps the reason


def test_withdrawing_a_decided_case_is_refused_with_the_reason(client, world):
    case = make_case(world=world, until="decided")
    as_citizen(client, world.applicant)

    response = client.post(reverse("cases_portal:withdraw", args=[case.number]), {"reason": "x"}, follow=True)

    case.refresh_from_db()
    assert case.state == CaseState.DECIDED
    assert "办件已作出决定或已结束，不能撤回。" in page_text(response)


# ---------------------------------------------------------------------------------------------
# Messages and language


def test_the_message_centre_shows_the_acceptance_and_marks_it_read(client, world):
    case = make_case(world=world, until="accepted")
    as_citizen(client, world.applicant)

    home = client.get(reverse("portal:home"))
    response = client.get(reverse("cases_portal:messages"))

    text = page_text(response)
    assert "消息（2 条未读）" in page_text(home)  # submitted, accepted
    assert "未读 申请已受理" in text
    assert f"您的办件{case.number}已受理" in text
    accepted_message = next(m for m in inbox_latest(user=world.applicant.user) if m.subject == "申请已受理")

    opened = client.post(reverse("cases_portal:message_read", args=[accepted_message.pk]), {"open": "1"})

    assert opened["Location"] == detail_url(case)
    accepted_message.refresh_from_db()
    assert accepted_message.read_at is not None
    assert "消息（1 条未读）" in page_text(client.get(reverse("cases_portal:messages")))


def test_another_persons_message_cannot_be_marked_read(client, world):
    make_case(world=world, until="submitted")
    [message] = inbox_latest(user=world.applicant.user)
    as_citizen(client, world.other_applicant)

    response = client.post(reverse("cases_portal:message_read", args=[message.pk]))

    message.refresh_from_db()
    assert response.status_code == 404
    assert message.read_at is None


def test_the_case_pages_render_in_english(client, world):
    case = make_case(world=world, until="accepted")
    draft = make_draft(world=world, implementation=world.immediate_implementation)
    as_citizen(client, world.applicant)
    assert client.post(reverse("set_language"), {"language": "en", "next": "/"}).status_code == 302

    for address in (
        detail_url(case),
        edit_url(draft),
        reverse("cases_portal:list"),
        reverse("cases_portal:messages"),
        apply_url(world.implementation),
    ):
        response = client.get(address)
        assert response.status_code == 200, address
        assert '<html lang="en">' in response.content.decode()

    response = client.post(
        edit_url(draft), {**page_form(client, draft), "f-application_statement": "x", "action": "save"}
    )
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()


def test_a_proof_is_replaced_by_signing_the_items_commitment_on_the_form_page(client):
    from govhall.cases.models import CaseCommitment
    from tests.cases.test_commitments import FORM, PROCESS
    from tests.factories import material_example

    world = case_world()
    implementation = make_implementation(
        kind="market",
        application_form=FORM,
        process_definition=PROCESS,
        materials=[material_example(name) for name in ("申请书", "无违法犯罪记录证明", "房屋租赁合同")],
    )
    client.force_login(world.applicant.user)
    draft = services.case_draft_start(user=world.applicant.user, implementation=implementation)
    page = client.get(f"/cases/draft-{draft.pk}/edit/").content.decode()
    assert "以告知承诺代替此材料" in page
    assert "可容缺受理" in page
    index = [material["name"] for material in draft.material_list].index("无违法犯罪记录证明")
    client.post(
        f"/cases/draft-{draft.pk}/edit/",
        {"action": "upload", "f-statement": "申请开办", f"commit-{index}": "1"},
    )
    assert CaseCommitment.objects.filter(case=draft, material_name="无违法犯罪记录证明").count() == 1
    assert "已签署告知承诺" in client.get(f"/cases/draft-{draft.pk}/edit/").content.decode()


def test_the_applicant_hands_in_a_deferred_material_on_the_case_page(client):
    from tests.cases.test_commitments import FORM, PROCESS, approved, submitted
    from tests.factories import material_example

    world = case_world()
    implementation = make_implementation(
        kind="market",
        application_form=FORM,
        process_definition=PROCESS,
        materials=[material_example(name) for name in ("申请书", "无违法犯罪记录证明", "房屋租赁合同")],
    )
    case = approved(world, submitted(world, implementation, lease=False))
    client.force_login(world.applicant.user)
    page = client.get(f"/cases/{case.number}/").content.decode()
    assert "容缺材料" in page and "房屋租赁合同" in page
    response = client.post(
        f"/cases/{case.number}/deferred/", {"material_name": "房屋租赁合同", "file": pdf_upload(text="lease")}
    )
    assert response.status_code == 302
    assert case.deferred_materials.get().received_at is not None
    other = client.post(f"/cases/{case.number}/deferred/", {"material_name": "房屋租赁合同", "file": pdf_upload()})
    assert other.status_code == 302
    assert "该材料不是待补交的容缺材料" in client.get(f"/cases/{case.number}/").content.decode()


@pytest.mark.parametrize(("scenario", "decided"), [("retired_elsewhere", True), ("other", False)])
def test_an_item_approved_in_seconds_shows_the_decision_right_after_submitting(client, world, scenario, decided):
    from tests.cases.test_intake_and_auto import INSTANT_PROCESS, SCENARIO_FORM

    implementation = make_implementation(
        kind="market", application_form=SCENARIO_FORM, process_definition=INSTANT_PROCESS, materials=[]
    )
    as_citizen(client, world.applicant)
    client.post(apply_url(implementation), {"applicant": "self"})
    case = Case.objects.get(applicant=world.applicant.user, implementation=implementation)
    fields = {**page_form(client, case), "f-scenario": scenario, "action": "submit"}
    response = client.post(edit_url(case), fields, follow=True)
    page = page_text(response)
    case.refresh_from_db()
    if decided:
        assert case.decision == "approve"
        assert "自动审批准予" in page
    else:
        assert case.decision == ""
        assert "转人工审批" in page


def test_an_upload_larger_than_the_cap_gets_a_page_saying_so_and_the_draft_is_untouched(client, world, settings):
    settings.GOVHALL_REQUEST_MAX_BYTES = 32 * 1024
    case = make_draft(world=world, materials=False)
    as_citizen(client, world.applicant)
    page = client.get(edit_url(case))
    fields = filled_in(page_form(client, case), **{"f-application_statement": "改过的说明", "action": "upload"})
    name = upload_input(page, APPLICATION_FORM)

    def post(referer: str):
        return client.post(
            edit_url(case), {**fields, name: pdf_upload(text="z" * (40 * 1024))}, headers={"Referer": referer}
        )

    response = post(f"http://testserver{edit_url(case)}")
    elsewhere = post("https://evil.example/")

    assert response.status_code == elsewhere.status_code == 413
    text = page_text(response)
    assert "一次提交的文件合计不能超过 32 KB" in text and "may not exceed 32 KB in all" in text
    assert f'href="http://testserver{edit_url(case)}"' in response.content.decode()
    assert 'href="https://evil.example/"' not in elsewhere.content.decode()
    case.refresh_from_db()
    assert "改过的说明" not in str(case.data)
    assert selectors.case_materials_current(case=case) == []
