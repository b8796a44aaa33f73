import gc
import os

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
