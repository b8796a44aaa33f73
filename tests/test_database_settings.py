"""The platform's PostgreSQL connections run without parallel query (ADR 0010)."""

import os
import subprocess
import sys

import pytest
from django.db import connection

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")


@pytest.mark.django_db
def test_a_connection_starts_no_parallel_workers():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"


def _options(**environment: str) -> str:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "govhall.settings", **environment}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return shown.stdout.strip()


def test_the_number_of_workers_can_be_set():
    assert _options(DATABASE_PARALLEL_WORKERS="2") == "-c max_parallel_workers_per_gather=2"


def test_options_in_the_database_url_are_kept_and_come_last():
    url = os.environ["DATABASE_URL"].split("?")[0] + "?options=-c%20statement_timeout%3D5000"
    assert _options(DATABASE_URL=url) == "-c max_parallel_workers_per_gather=0 -c statement_timeout=5000"
