import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govhall.settings")
application = get_wsgi_application()

# Web workers load the word-segmentation dictionary at start rather than on their first search.
from govhall.catalog.search import search_segmenter_warm  # noqa: E402

search_segmenter_warm()
