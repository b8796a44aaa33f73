"""The web worker's start (govhall/wsgi.py, what gunicorn loads in each worker)."""

import os
import subprocess
import sys


def test_a_worker_keeps_what_it_loaded_at_start_out_of_the_collectors_full_passes():
    # Loading the application freezes its objects (Django, the apps, the dictionary): a full
    # collection then walks only what requests have left behind.
    code = (
        "import gc; before = gc.get_freeze_count(); import govhall.wsgi; "
        "print(before, gc.get_freeze_count(), len(gc.get_objects()))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "govhall.settings"}
    shown = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    before, frozen, tracked = (int(number) for number in shown.stdout.split())
    assert before == 0
    assert frozen > 50_000  # about 117,000 on Python 3.11
    assert tracked < frozen
