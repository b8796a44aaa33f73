"""Staff manage the licences their department issued; nobody else can (permission matrix)."""

import pytest

from govhall.accounts.models import Role
from govhall.licences.models import LicenceStatus
from tests.cases.factories import staff_in
from tests.factories import force_login_verified, make_department
from tests.licences.factories import make_licence

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "expected"),
    [("reviewer", 200), ("decider", 200), ("department_administrator", 200), ("window_clerk", 404), ("other", 404)],
)
def test_who_may_manage_a_licence(client, who, expected):
    licence = make_licence()
    department = licence.issuer if who != "other" else make_department(region_code="330110", kind="market")
    officer = staff_in(department, Role(who if who != "other" else "reviewer"))
    force_login_verified(client, officer)

    page = client.get(f"/workbench/licences/{licence.number}/")
    listed = client.get("/workbench/licences/").content.decode()
    act = client.post(f"/workbench/licences/{licence.number}/suspend/", {"reason": "现场检查不合格"})

    assert page.status_code == expected
    assert (licence.number in listed) == (expected == 200)
    licence.refresh_from_db()
    assert (licence.status == LicenceStatus.SUSPENDED) == (expected == 200)
    assert act.status_code == (302 if expected == 200 else 404)


def test_a_reason_is_required_and_a_revoked_licence_cannot_be_renewed(client):
    licence = make_licence()
    force_login_verified(client, staff_in(licence.issuer, Role.DECIDER))

    client.post(f"/workbench/licences/{licence.number}/revoke/", {"reason": ""})
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.VALID
    client.post(f"/workbench/licences/{licence.number}/revoke/", {"reason": "申请人以欺骗手段取得"})
    refused = client.post(f"/workbench/licences/{licence.number}/renew/", follow=True)
    licence.refresh_from_db()
    assert licence.status == LicenceStatus.REVOKED
    assert "证照已注销，不能延续或变更。" in refused.content.decode()
