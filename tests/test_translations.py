"""Every message the code and templates mark for translation has its English.

A message missing from ``django.po`` shows in Chinese on an English page, and nothing else
notices: two of the workbench's time levels did, until the twenty-eighth session. The messages
are extracted as ``make messages`` extracts them, into a copy of the code, so the committed
catalogue is not rewritten.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not (shutil.which("xgettext") and shutil.which("msgattrib")), reason="needs GNU gettext (xgettext, msgattrib)"
)


def test_every_marked_message_has_its_english(tmp_path):
    copy = tmp_path / "govhall"
    shutil.copytree(ROOT / "govhall", copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    environment = {**os.environ, "PYTHONPATH": str(tmp_path), "DJANGO_SETTINGS_MODULE": "govhall.settings"}
    subprocess.run(
        [sys.executable, str(tmp_path / "manage.py"), "makemessages", "-l", "en", "--no-obsolete", "--no-location"],
        cwd=copy,
        env=environment,
        check=True,
        capture_output=True,
    )

    untranslated = subprocess.run(
        ["msgattrib", "--untranslated", "--no-wrap", str(copy / "locale/en/LC_MESSAGES/django.po")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    missing = [line for line in untranslated.splitlines() if line.startswith("msgid ") and line != 'msgid ""']
    assert not missing, "messages without English in govhall/locale/en/LC_MESSAGES/django.po:\n" + "\n".join(missing)
