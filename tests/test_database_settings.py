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


def test_the_number_of_workers_can_be_set():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])"
    )
    env = {**os.environ, "DATABASE_PARALLEL_WORKERS": "2", "DJANGO_SETTINGS_MODULE": "govhall.settings"}
    shown = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "-c max_parallel_workers_per_gather=2"
