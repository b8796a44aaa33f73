import gc
import os

import django
from django.core.signals import request_started

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhall.settings")
django.setup(set_prefix=False)  # as django.core.wsgi.get_wsgi_application does

from govhall.workers import Handler, HeapSettled  # noqa: E402

# Django's WSGI handler, its requests leaving no reference cycles behind (govhall/workers.py).
application = Handler()

# Web workers load the word-segmentation dictionary at start rather than on their first search.
from govhall.catalog.search import search_segmenter_warm  # noqa: E402

search_segmenter_warm()

# What is loaded by now (Django, the apps, the dictionary) lives as long as the worker. Frozen,
# it is left out of the collector's full passes, which otherwise walk its 150,000 objects
# (30–40 ms each) while a request waits (docs/performance.md).
gc.freeze()

# … and what the first requests keep is frozen too.
heap = HeapSettled()
request_started.connect(heap.request_starting, dispatch_uid="govhall_heap_settled")
