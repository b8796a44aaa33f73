"""The demo shows the supervisor of 杭州市 yellow and red warnings at once."""

import pytest

from govhall.accounts.models import User
from govhall.supervision.selectors import warning_counts
from tests.factories import force_login_verified

pytestmark = pytest.mark.django_db


def test_the_demo_supervisor_sees_yellow_and_red_cases(client):
    from govhall.demo import demo_load

    demo_load()
    supervisor = User.objects.get(username="hangzhou-supervisor")

    counts = warning_counts(user=supervisor)
    force_login_verified(client, supervisor)
    page = client.get("/workbench/supervision/warnings/").content.decode()

    assert counts["red"] >= 1 and counts["yellow"] >= 1
    assert "红牌警告" in page and "黄牌预警" in page
