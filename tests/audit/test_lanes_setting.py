"""``GOVHALL_AUDIT_CHAIN_LANES`` (ADR 29): a number of lanes from 1 to 1000, and a clear refusal
of anything else before the platform starts."""

import os
import subprocess
import sys

import pytest


def _lanes(value: str) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.GOVHALL_AUDIT_CHAIN_LANES)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "govhall.settings", "GOVHALL_AUDIT_CHAIN_LANES": value}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)


def test_the_number_of_lanes_is_read_from_the_environment():
    shown = _lanes(" 4 ")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "4"


@pytest.mark.parametrize("value", ["0", "1001", "-2", "sixteen", ""])
def test_a_number_of_lanes_out_of_range_or_not_a_number_is_refused_with_its_name(value):
    shown = _lanes(value)
    assert shown.returncode != 0
    assert "GOVHALL_AUDIT_CHAIN_LANES must be a whole number from 1 to 1000" in shown.stderr
