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


def test_a_worker_freezes_what_its_first_requests_keep_and_collects_what_they_dropped():
    # At the start of the 100th request what is kept is frozen, after a pass that collects the
    # garbage in cycles; at the 100,000th the freezes are undone first, so that what was frozen
    # and became garbage since is collected too.
    code = """
import gc, weakref
import govhall.wsgi
from django.core.signals import request_started

class Node:
    pass

def cycle():
    node = Node()
    node.itself = node
    return node

def start(times):
    for _ in range(times):
        request_started.send(sender=None, environ={})

gc.disable()  # only the passes asked for run, so each check below is certain
at_start = gc.get_freeze_count()
kept = [cycle() for _ in range(5_000)]  # what the first requests keep (as caches do)
dropped = cycle()
dropped_ref = weakref.ref(dropped)
del dropped
start(99)
assert gc.get_freeze_count() == at_start, "frozen before the 100th request"
assert dropped_ref() is not None, "no pass is asked for before the 100th request"
start(1)
assert govhall.wsgi.heap.settled == 1
assert gc.get_freeze_count() >= at_start + 5_000, "what the first requests keep is frozen"
assert dropped_ref() is None, "garbage is collected before the freeze"
frozen_ref = weakref.ref(kept[0])
del kept
gc.collect()
assert frozen_ref() is not None, "a frozen cycle is not collected"
govhall.wsgi.heap.started = 99_999
start(1)
assert govhall.wsgi.heap.settled == 2
assert frozen_ref() is None, "the 100,000th request's pass collects what was frozen and dropped"
assert gc.get_freeze_count() > 50_000, "what is left is frozen again"
print("ok")
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "govhall.settings"}
    shown = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["ok"]
