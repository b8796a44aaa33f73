"""The licence catalogue in the admin: the system administrator keeps it (audited); licences
and seals are read-only there; other staff do not see it."""

import pytest

from govhall.accounts.models import Role
from govhall.audit.models import AuditRecord
from govhall.licences.models import LicenceType
from tests.factories import force_login_verified, make_staff
from tests.licences.factories import make_licence

pytestmark = pytest.mark.django_db


def _admin(client, user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    force_login_verified(client, user)


def test_the_system_administrator_adds_a_licence_type_and_others_cannot(client):
    licence = make_licence()
    _admin(client, make_staff(role=Role.SYSTEM_ADMINISTRATOR, region_code="330000"))

    added = client.post(
        "/admin/licences/licencetype/add/",
        {
            "code": "JYXKZ",
            "name": "经营许可证",
            "holder_kind": "company",
            "issuer_kinds": "[]",
            "validity_months": "36",
            "fields": '[{"name": "name", "label": "名称", "source": "holder.name"}]',
            "layout": "{}",
            "active": "on",
        },
    )
    shown = client.get(f"/admin/licences/licence/{licence.pk}/change/")
    change_refused = client.post(f"/admin/licences/licence/{licence.pk}/change/", {"status": "revoked"})

    assert added.status_code == 302, added.context["adminform"].form.errors if added.context else added
    assert LicenceType.objects.filter(code="JYXKZ").exists()
    assert AuditRecord.objects.filter(action="licence_type_add", object_id="JYXKZ").exists()
    assert shown.status_code == 200
    assert change_refused.status_code == 403
    licence.refresh_from_db()
    assert licence.status == "valid"

    _admin(client, make_staff(role=Role.REVIEWER, region_code="330106"))
    assert client.get("/admin/licences/licencetype/").status_code in (302, 403)
