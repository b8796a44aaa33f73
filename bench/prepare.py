"""The benchmark's setup step, run in a Django process against the benchmark database:
officers and applicants signed in with OAuth2 access tokens and with sessions of the pages'
sign-in (made here, not during the timed run), and the lists each scenario requests (guide
codes, queries, case numbers, applicants' own cases, waiting tasks, valid licences, rating
invitations, a valid application, bundle applications ready to submit). Writes one JSON file the
runner reads.

    python -m bench.prepare --out FILE [--applicants 640] [--ready-region 330106] [--licences 500]
        [--invitations 3000] [--bundles 0]
"""

import argparse
import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

PROVINCE_CODE = "330000"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhall.settings")
    import django

    django.setup()


def _keys_checked(program: str) -> None:
    """Exit with the reason when this process's keys cannot open the generated data
    (``bench_data.bench_keys_check``), before anything is read or written with them."""
    from django.core.management.base import CommandError

    from govhall.cases.management.commands.bench_data import bench_keys_check

    try:
        bench_keys_check()
    except CommandError as error:
        raise SystemExit(f"python -m {program}: {error}") from None


# Queries people type (DESIGN.md: Chinese queries like 开公司 find 企业设立登记).
SEARCH_SPECIFIC = ("食品经营许可", "出生医学证明", "住房公积金提取", "个体工商户设立登记", "结婚登记", "失业保险金申领")
SEARCH_BROAD = ("登记", "许可", "证明", "申领")
SEARCH_TWO_CHARACTERS = ("护照", "社保", "低保", "驾照", "户口", "公证")
BENCH_APPLICATION_NAME = "govhall bench"
TOKEN_LIFETIME = timedelta(hours=6)
# The submission scenario's material: a scanned form is typically 100–200 KB.
MATERIAL_BYTES = 150 * 1024
# The workbench pages' scenarios: sessions of the to-do officer, one for each connection of the load.
STAFF_SESSIONS = 32


def _tokens(users: list[Any]) -> list[str]:
    """One access token (scope ``cases``) per user, as the OpenID Connect provider issues them."""
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application, set_token_value

    application, _created = Application.objects.get_or_create(
        name=BENCH_APPLICATION_NAME,
        defaults={
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": "https://bench.invalid/callback",
            "algorithm": Application.RS256_ALGORITHM,
        },
    )
    expires = timezone.now() + TOKEN_LIFETIME
    tokens = []
    for user in users:
        token = secrets.token_urlsafe(30)
        access_token = AccessToken(user=user, application=application, expires=expires, scope="cases")
        set_token_value(access_token, token)  # kept as its digest alone, as issued tokens are
        access_token.save()
        tokens.append(token)
    return tokens


def _sessions(users: list[Any], *, staff: bool = False) -> list[str]:
    """One signed-in session per user, as the sign-in pages leave it, as the ``Cookie`` header
    that carries it. A staff session is also verified by a TOTP device, as the workbench's
    two-step sign-in leaves it (the workbench's pages demand that mark)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import login
    from django.http import HttpRequest
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from govhall.accounts.authentication import MODEL_BACKEND
    from govhall.accounts.totp import staff_totp_device_create

    engine = import_module(settings.SESSION_ENGINE)
    cookies = []
    for user in users:
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        request.session = engine.SessionStore()
        # Django's user_logged_in signal stamps the session and records it (session_register).
        login(request, user, backend=MODEL_BACKEND)
        if staff:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is None:
                device = staff_totp_device_create(user=user)[0]
            request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        request.session.save()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={request.session.session_key}")
    return cookies


def _busiest_region(*, exclude_region: str) -> tuple[str, int]:
    """The county with the most open tasks outside the pools' region: its comprehensive window
    (综合窗口) officer holds the handling roles in every department there, so the to-do list is
    at its longest."""
    from django.db.models import Count

    from govhall.cases.models import CaseTask, TaskState

    row = (
        CaseTask.objects.filter(state=TaskState.OPEN, department__region__level=3)
        .exclude(department__region_id=exclude_region)
        .values("department__region_id")
        .annotate(open=Count("id"))
        .order_by("-open")
        .first()
    )
    if row is None:
        return exclude_region, 0
    return row["department__region_id"], row["open"]


def _submission_target(*, person: Any, region_code: str | None = None) -> dict[str, Any] | None:
    """An online, person-facing implementation (of ``region_code`` when given) whose form the
    filler completes and that asks for one to three uploaded materials: what the submission
    scenario applies for."""
    from govhall.cases import application_form
    from govhall.cases.management.commands.bench_data import _filler_data
    from govhall.catalog.models import CaseType, Implementation

    candidates = (
        Implementation.objects.filter(
            state="active", online_available=True, entry__for_persons=True, case_type=CaseType.COMMITTED
        )
        .filter(assurance_level__lte=2, region__level=3)
        # In the pools' region: the cases filed must not lengthen the to-do list measured elsewhere.
        .filter(**({"region_id": region_code} if region_code else {}))
        .select_related("entry")
        .prefetch_related("materials")
        .order_by("-view_count", "id")[:300]
    )
    for implementation in candidates:
        definition = application_form.form_definition_effective(
            definition=implementation.application_form,
            for_persons=implementation.entry.for_persons,
            for_companies=implementation.entry.for_companies,
            express_delivery=implementation.express_delivery,
            material_names=[material.name for material in implementation.materials.all()],
        )
        required = [m.name for m in implementation.materials.all() if m.requirement == "required"]
        if not 1 <= len(required) <= 3:
            continue
        # The draft comes prefilled from the applicant's record; the client sends the rest.
        prefill = application_form.form_prefill(definition=definition, person=person, company=None)
        data = _filler_data(definition, person.name)
        _cleaned, errors = application_form.form_validate(
            definition=definition,
            data={**data, **prefill.values},
            prefilled=application_form.prefill_as_stored(prefill),
            materials_present=set(required),
        )
        if errors:
            continue
        return {"implementation_code": implementation.implementation_code, "data": data, "materials": required}
    return None


# The bundle the bundle scenario submits: the demo's 新生儿出生, four items each handled by its own
# department (health, public security, medical security, human resources and social security).
BUNDLE_CODE = "newborn"


# Values for the kinds of field the generator's filler leaves empty, which a bundle's merged
# form asks for (新生儿出生: the date of birth, the place of birth, the certificate's number).
FILLER_PATTERNED = ("P330106202611", "13912345678", "310000", "2026110100001")


def _filler_more(definition: dict[str, Any], data: dict[str, Any], *, region_code: str) -> dict[str, Any]:
    """Required fields still empty in ``data``: a date ten days ago, an address in
    ``region_code``, and a patterned text from ``FILLER_PATTERNED`` that fits its pattern."""
    import re

    from django.utils import timezone

    schema = definition.get("schema") or {}
    more: dict[str, Any] = {}
    for name in schema.get("required") or []:
        prop = (schema.get("properties") or {}).get(name) or {}
        if data.get(name) not in (None, "", {}, []):
            continue
        if prop.get("format") == "date":
            more[name] = (timezone.localdate() - timedelta(days=10)).isoformat()
        elif prop.get("type") == "object" and set(prop.get("required") or []) == {"region", "detail"}:
            more[name] = {"region": region_code, "detail": "文三路 1 号"}
        elif prop.get("type") == "string" and "pattern" in prop:
            fits = [value for value in FILLER_PATTERNED if re.fullmatch(prop["pattern"], value)]
            if fits:
                more[name] = fits[0]
    return more


def bundle_applications_ready(*, people: list[Any], region_code: str, pdf: bytes) -> list[str]:
    """For each of ``people``, an application for ``BUNDLE_CODE`` in ``region_code`` started,
    filled and given its materials through the bundle services, ready to submit: the
    references of their edit pages. Empty when the bundle cannot be applied for there."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from govhall.cases import bundles
    from govhall.cases.management.commands.bench_data import _filler_data
    from govhall.catalog.models import Bundle
    from govhall.org.models import Region

    bundle, region = Bundle.objects.filter(code=BUNDLE_CODE).first(), Region.objects.filter(code=region_code).first()
    if bundle is None or region is None:
        return []
    references = []
    for user in people:
        application = bundles.bundle_application_start(user=user, bundle=bundle, region=region)
        form = bundles.bundle_form(application=application)
        data = {
            **bundles.bundle_application_form_data(application=application),
            **_filler_data(form.definition, user.person.name),
        }
        data.update(_filler_more(form.definition, data, region_code=region_code))
        bundles.bundle_application_save(application=application, user=user, data=data, form=form)
        uploads = bundles.bundle_application_uploads(application=application)
        for material in bundles.bundle_materials(form=form, data=data):
            if material["required"] and not material["shared"] and material["name"] not in uploads:
                upload = SimpleUploadedFile("材料扫描件.pdf", pdf, content_type="application/pdf")
                bundles.bundle_material_add(
                    application=application, user=user, material_name=material["name"], file=upload, form=form
                )
        references.append(bundles.bundle_application_reference(application))
    return references


# The verification pool: licences of the demo's types a person may hold, each issued by its kind
# of department in the pools' region. A QR code on a licence is what the public scans most.
LICENCE_TYPES = (("GTGSHYYZZ", "market"), ("SPJYXK", "market"), ("GGCSWSXK", "health"), ("CSYXZM", "health"))
LICENCE_FIELDS = {
    "trade_name": "西湖区便民小吃店",
    "premises": "杭州市西湖区文三路 1 号",
    "scope": "餐饮服务",
    "business_items": "热食类食品制售",
    "food_safety_manager": "王**",
    "item": "公共场所卫生许可",
    "newborn_name": "张小满",
    "birth_date": "2026-03-01",
}


def own_cases(people: list[Any], *, per_person: int = 3) -> list[tuple[int, str]]:
    """(the applicant's place in ``people``, a case number) for up to ``per_person`` of each
    applicant's filed cases, newest first: the cases each follows in "my cases"."""
    from govhall.cases.models import Case, CaseState

    place = {user.pk: index for index, user in enumerate(people)}
    found: list[tuple[int, str]] = []
    for user in people:
        numbers = (
            Case.objects.filter(applicant=user)
            .exclude(state=CaseState.DRAFT)
            .order_by("-created_at")
            .values_list("number", flat=True)[:per_person]
        )
        found += [(place[user.pk], number) for number in numbers if number]
    return found


def licences_ensure(*, region_code: str, count: int, people: list[Any]) -> list[str]:
    """The identifiers of ``count`` valid licences issued in ``region_code`` to the benchmark's
    applicants, issued now by the licence service where fewer are there (each rendered, signed
    with its department's seal and stored, as a case's result is): kept across runs."""
    import time

    from govhall.cases.management.commands.bench_data import APPLICANT_PREFIX
    from govhall.licences.models import Licence, LicenceStatus, LicenceType
    from govhall.licences.services import licence_issue
    from govhall.org.models import Department

    identifiers = list(
        Licence.objects.filter(
            issuer__region_id=region_code,
            status=LicenceStatus.VALID,
            person__user__username__startswith=APPLICANT_PREFIX,
        )
        .order_by("id")
        .values_list("identifier", flat=True)[:count]
    )
    missing = count - len(identifiers)
    if missing <= 0 or not people:
        return identifiers
    started = time.perf_counter()
    kinds = []
    for code, kind in LICENCE_TYPES:
        licence_type = LicenceType.objects.filter(code=code, active=True).first()
        issuer = Department.objects.filter(region_id=region_code, kind=kind).exclude(credit_code="").first()
        if licence_type is not None and issuer is not None:
            kinds.append((licence_type, issuer))
    if not kinds:
        return identifiers
    for number in range(missing):
        licence_type, issuer = kinds[number % len(kinds)]
        person = people[number % len(people)].person
        fields = {
            spec["name"]: LICENCE_FIELDS.get(spec["name"], str(spec.get("label") or spec["name"]))
            for spec in licence_type.fields
            if spec.get("source") != "holder.name"
        }
        licence = licence_issue(licence_type=licence_type, issuer=issuer, fields=fields, holder_person=person)
        identifiers.append(licence.identifier)
    print(
        f"bench.prepare: issued {missing} licences in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return identifiers


def invitations_ensure(*, region_code: str, count: int) -> list[str]:
    """The links' tokens of ``count`` unused rating invitations of closed cases in
    ``region_code``, each case's applicant one of the benchmark's: the invitations still unused
    from earlier runs, and as many more as are missing, sent now by the service that sends them
    when a case closes (the invitation, the message in the applicant's message centre, the SMS).
    Each is used once by the rating scenario."""
    import time
    from datetime import timedelta

    from django.db.models import Exists, OuterRef
    from django.utils import timezone

    from govhall.cases.management.commands.bench_data import APPLICANT_PREFIX
    from govhall.cases.models import Case, CaseState
    from govhall.evaluations.models import Channel, Evaluation, Invitation
    from govhall.evaluations.services import invitation_on_close, invitation_token
    from govhall.org.models import Department

    departments = list(Department.objects.filter(region_id=region_code).values_list("id", flat=True))
    rated = Evaluation.objects.filter(case=OuterRef("case_id"))
    unused = list(
        Invitation.objects.filter(
            case__department_id__in=departments,
            case__applicant__username__startswith=APPLICANT_PREFIX,
            channel=Channel.SMS,
            used_at__isnull=True,
            expires_at__gt=timezone.now() + timedelta(days=1),
        )
        .exclude(Exists(rated))
        .order_by("id")[:count]
    )
    missing = count - len(unused)
    if missing <= 0:
        return [invitation_token(invitation) for invitation in unused]
    started = time.perf_counter()
    closed = (
        Case.objects.filter(
            department_id__in=departments,
            state=CaseState.COMPLETED,
            applicant__username__startswith=APPLICANT_PREFIX,
        )
        .exclude(Exists(Invitation.objects.filter(case=OuterRef("pk"))))
        .exclude(Exists(Evaluation.objects.filter(case=OuterRef("pk"))))
        .select_related("applicant__person")
        .order_by("id")[:missing]
    )
    sent = [invitation for case in closed if (invitation := invitation_on_close(case=case)) is not None]
    print(
        f"bench.prepare: sent {len(sent)} rating invitations in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return [invitation_token(invitation) for invitation in [*unused, *sent]]


def _province_supervisor() -> Any:
    """A supervisor of the whole province (one assignment: the scope is the region)."""
    from govhall.accounts.models import Role, StaffAssignment, User
    from govhall.org.models import Department

    user, _created = User.objects.get_or_create(
        username="bench-supervisor", defaults={"display_name": "压测监察", "password": "!", "is_staff": False}
    )
    department = Department.objects.filter(region_id=PROVINCE_CODE).order_by("id").first()
    if department is not None:
        StaffAssignment.objects.get_or_create(user=user, department=department, role=Role.SUPERVISOR)
    return user


def _figures_paths(rng: Any) -> dict[str, list[str]]:
    """The supervisor dashboard's reads: tiles of the province, a city and a county for the year
    so far and for the last month; drill-downs (child regions, departments) and items of the
    same. The year is the widest period the page offers."""
    import datetime

    from django.utils import timezone

    from govhall.org.models import Region

    today = timezone.localdate()
    last_month_end = today.replace(day=1) - datetime.timedelta(days=1)
    periods = [(today.replace(month=1, day=1), today), (last_month_end.replace(day=1), last_month_end)]
    cities = list(Region.objects.filter(code__startswith="33", level=2).values_list("code", flat=True))
    counties = list(Region.objects.filter(code__startswith="33", level=3).values_list("code", flat=True))
    regions = [PROVINCE_CODE, *rng.sample(cities, min(3, len(cities))), *rng.sample(counties, min(3, len(counties)))]
    tiles, drilldown, items = [], [], []
    for start, end in periods:
        for region in regions:
            query = f"start={start}&end={end}&region={region}"
            tiles.append(f"/api/v1/figures/tiles?{query}")
            drilldown.append(f"/api/v1/figures/breakdown?{query}")
            drilldown.append(f"/api/v1/figures/breakdown?{query}&by=department")
            items.append(f"/api/v1/figures/breakdown?{query}&by=item")
    return {"tiles": tiles, "drilldown": drilldown, "items": items}


def figures_upkeep(*, samples: int = 2000) -> dict[str, Any]:
    """What keeping the figures current costs one case action: the four upserts an acceptance
    makes (department day and month, implementation and entry month), on rows of the generated
    data, each in a transaction rolled back (the data keeps its figures); milliseconds."""
    import random
    import statistics
    import time

    from django.db import transaction
    from django.utils import timezone

    from govhall.catalog.models import Implementation
    from govhall.metrics.services import figures_add

    rng = random.Random(11)  # noqa: S311 - choosing rows, not secrets
    places = list(Implementation.objects.values_list("id", "department_id", "region_id")[:20000])
    if not places:
        return {}
    today = timezone.localdate()

    class Undo(Exception):
        pass

    timings = []
    for _sample in range(samples):
        implementation_id, department_id, region_id = rng.choice(places)
        started = time.perf_counter()
        try:
            with transaction.atomic():
                figures_add(
                    day=today,
                    department_id=department_id,
                    region_code=region_id,
                    counts={"accepted": 1},
                    implementation_id=implementation_id,
                )
                timings.append(time.perf_counter() - started)
                raise Undo
        except Undo:
            pass
    timings.sort()
    return {
        "samples": len(timings),
        "p50_ms": round(1000 * statistics.median(timings), 3),
        "p95_ms": round(1000 * timings[int(0.95 * len(timings)) - 1], 3),
        "p99_ms": round(1000 * timings[int(0.99 * len(timings)) - 1], 3),
        "mean_ms": round(1000 * statistics.fmean(timings), 3),
    }


def _api_list_uncached(counties: list[str]) -> list[str]:
    """Three pages of each county's catalogue list beyond those the API keeps (ADR 22), where
    the list has them: every answer is built."""
    from govhall.catalog.api import ImplementationListQuery
    from govhall.catalog.kept_answers import KEPT_MAX_PAGE
    from govhall.catalog.selectors import implementation_list_public

    page_size = ImplementationListQuery.model_fields["page_size"].default
    paths = []
    for code in counties:
        pages = -(-implementation_list_public(region_code=code).count() // page_size)
        paths += [
            f"/api/v1/implementations?region={code}&page={page}"
            for page in range(KEPT_MAX_PAGE + 1, KEPT_MAX_PAGE + 4)
            if page <= pages
        ]
    return paths


def prepare(
    *,
    applicants: int,
    ready_region: str,
    sample: int,
    licences: int = 500,
    invitations: int = 3000,
    bundles: int = 0,
) -> dict[str, Any]:
    import random

    from govhall.accounts.models import Role, User
    from govhall.cases.management.commands.bench_data import APPLICANT_PREFIX, bench_staff_ensure, ready_tasks
    from govhall.cases.models import Case, CaseState
    from govhall.catalog.models import Bundle, Implementation
    from govhall.catalog.search import implementation_search
    from govhall.org.models import Region

    rng = random.Random(7)  # noqa: S311 - choosing sample rows, not secrets
    clerk = bench_staff_ensure(
        region_code=ready_region, username="bench-clerk", roles=[Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    )
    region_code, open_tasks = _busiest_region(exclude_region=ready_region)
    officer = bench_staff_ensure(
        region_code=region_code, username="bench-officer", roles=[Role.WINDOW_CLERK, Role.REVIEWER, Role.DECIDER]
    )
    people = list(User.objects.filter(username__startswith=APPLICANT_PREFIX).order_by("id")[:applicants])
    supervisor = _province_supervisor()
    clerk_token, officer_token, supervisor_token = _tokens([clerk, officer, supervisor])
    applicant_tokens = _tokens(people)
    # The pages' scenarios: the officer's to-do list and case pages in the workbench, the officer
    # signed in STAFF_SESSIONS times, as as many officers holding the same roles would be (one
    # session a connection: every page a signed-in person opens writes the session's last
    # activity); and "my cases" in the portal, each applicant with their own session.
    officer_sessions = _sessions([officer] * STAFF_SESSIONS, staff=True)
    applicant_sessions = _sessions(people)

    codes = list(Implementation.objects.filter(state="active").values_list("implementation_code", flat=True))
    guides = rng.sample(codes, min(sample, len(codes)))
    counties = list(Region.objects.filter(code__startswith="33", level=3).values_list("code", flat=True))
    regions = list(Region.objects.filter(code__startswith="33", level__lte=3).values_list("code", "name"))
    numbers = list(
        Case.objects.filter(region_id=region_code)
        .exclude(state=CaseState.DRAFT)
        .order_by("-submitted_at")
        .values_list("number", flat=True)[: sample * 4]
    )
    numbers = rng.sample(numbers, min(sample, len(numbers)))
    total = len(codes)
    queries: dict[str, list[dict[str, Any]]] = {}
    for kind, words in (
        ("specific", SEARCH_SPECIFIC),
        ("broad", SEARCH_BROAD),
        ("two_characters", SEARCH_TWO_CHARACTERS),
    ):
        queries[kind] = []
        for word in words:
            found = implementation_search(query=word, page_size=1).total
            queries[kind].append({"q": word, "hits": found, "share": round(found / max(total, 1), 4)})
    from django.conf import settings

    from govhall.cases.management.commands.bench_data import sample_pdf_bytes

    material = Path(settings.VAR_DIR) / "bench-material.pdf"
    material.write_bytes(sample_pdf_bytes(size=MATERIAL_BYTES, variant=99))
    # The bundle scenario: an application ready to submit for each of the first ``bundles``
    # applicants, with the session that edits it (its items filed in the pools' region, as the
    # submission scenario's: the officer's to-do list elsewhere is not lengthened).
    bundle_people = people[:bundles]
    references = bundle_applications_ready(people=bundle_people, region_code=ready_region, pdf=material.read_bytes())
    bundle_applications = [
        f"/bundles/applications/{reference}/edit/\t{cookie}"
        for reference, cookie in zip(references, applicant_sessions, strict=False)
    ]
    return {
        "bundle_applications": bundle_applications,
        "bundle_name": Bundle.objects.filter(code=BUNDLE_CODE).values_list("name", flat=True).first() or BUNDLE_CODE,
        "material_path": str(material),
        "ready_region": ready_region,
        "implementations": total,
        "cases": Case.objects.count(),
        "clerk_token": clerk_token,
        "officer_token": officer_token,
        "supervisor_token": supervisor_token,
        "figures_upkeep": figures_upkeep(),
        "figures": _figures_paths(rng),
        "officer_department": {
            "code": region_code,
            "name": str(Region.objects.get(pk=region_code).full_name),
            "open_tasks": open_tasks,
        },
        "applicant_tokens": applicant_tokens,
        "officer_sessions": officer_sessions,
        "applicant_sessions": applicant_sessions,
        "guides": guides,
        "regions": [code for code, _name in regions],
        "region_names": dict(regions),
        "counties": counties,
        "api_list_uncached": _api_list_uncached(counties),
        "case_numbers": numbers,
        "own_cases": own_cases(people),
        "licences": licences_ensure(region_code=ready_region, count=licences, people=people),
        "invitations": invitations_ensure(region_code=ready_region, count=invitations),
        "queries": queries,
        "ready": {
            # Sorted here: ordered by id, PostgreSQL may walk the steps' primary key (11 million cases).
            kind: sorted(ready_tasks(region_code=ready_region, kind=kind).order_by().values_list("id", flat=True))
            for kind in ("accept", "decide")
        },
        "submission": _submission_target(person=people[0].person, region_code=ready_region) if people else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--applicants", type=int, default=640)
    parser.add_argument("--ready-region", default="330106")
    parser.add_argument("--sample", type=int, default=2000, help="guides and case numbers to rotate through")
    parser.add_argument("--licences", type=int, default=500, help="valid licences the verification scenarios read")
    parser.add_argument("--invitations", type=int, default=3000, help="unused rating invitations, each rated once")
    parser.add_argument("--bundles", type=int, default=0, help="bundle applications ready to submit, one an applicant")
    arguments = parser.parse_args(argv)
    _django()
    _keys_checked("bench.prepare")
    result = prepare(
        applicants=arguments.applicants,
        ready_region=arguments.ready_region,
        sample=arguments.sample,
        licences=arguments.licences,
        invitations=arguments.invitations,
        bundles=arguments.bundles,
    )
    arguments.out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
