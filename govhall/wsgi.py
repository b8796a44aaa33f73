import gc
import os
from typing import Any

from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhall.settings")
application = get_wsgi_application()

# Web workers load the word-segmentation dictionary at start rather than on their first search.
from govhall.catalog.search import search_segmenter_warm  # noqa: E402

search_segmenter_warm()

# What is loaded by now (Django, the apps, the dictionary) lives as long as the worker. Frozen,
# it is left out of the collector's full passes, which otherwise walk its 150,000 objects
# (30–40 ms each) while a request waits (docs/performance.md).
gc.freeze()


class HeapSettled:
    """Freezes again what a worker's first requests keep for good.

    A worker's first requests fill what it keeps for its life: URL patterns, templates,
    translations, compiled statements, labels. Made after the freeze above, they are walked by
    each of the collector's full passes: in a benchmark's worker, 50,000–64,000 objects after a
    run, 70–90 ms the longest pass (the thirty-ninth session's section of docs/performance.md).
    So at the start of the 100th, the 1,000th and the 10,000th request (Django's
    ``request_started``, before the request is read, so that no request's own objects are
    kept): one full pass, then what is left is frozen.

    A frozen object that later becomes garbage in a cycle is not collected while it is frozen.
    So at the start of every 100,000th request the freezes are undone, one pass walks
    everything (about 200 ms under load) and what is left is frozen again."""

    WARMING = (100, 1_000, 10_000)
    WHOLE = 100_000

    def __init__(self) -> None:
        self.started = 0
        self.settled = 0

    def request_starting(self, **kwargs: Any) -> None:
        self.started += 1
        if self.started % self.WHOLE == 0:
            gc.unfreeze()
        elif self.started not in self.WARMING:
            return
        gc.collect()
        gc.freeze()
        self.settled += 1


heap = HeapSettled()
request_started.connect(heap.request_starting, dispatch_uid="govhall_heap_settled")
