"""What a web worker runs requests with (``govhall/wsgi.py`` makes one of each): a request that
leaves no reference cycles behind, and a collector that freezes what the first requests keep.
Nothing happens on import, so that tests can use them without freezing the test process."""

import gc
from typing import Any

from django.core.handlers.wsgi import WSGIHandler, WSGIRequest


class RequestLeftNoCycles(WSGIRequest):
    """A request that lets go of its attributes once its response is closed.

    Django's middleware ties each request into reference cycles: the lazy ``request.user`` and
    ``request.auser`` hold the request, and so does each of the messages' storages; django-otp
    ties the user into one of its own. A cycle is freed only by the collector, with all it
    holds (the user, the session, the officer's roles, the headers): 121 objects a to-do list,
    left on every request for the collector's next pass to find. The server closes the response
    once it is sent; Django then closes the request, which here drops its attributes, so that
    each of those objects is freed at once. Nothing reads a request after that (the test client
    makes requests of its own class). Over the same benchmark run a worker's collector took
    0.6–0.7 s instead of 2.8–3.3 (the thirty-ninth session's section of docs/performance.md)."""

    def close(self) -> None:
        super().close()
        # django-otp gives the user ``is_verified``, a partial holding the lazy ``request.user``
        # that holds the user: a cycle of the user's own, with all the user holds.
        user = self.__dict__.get("_cached_user")
        if user is not None:
            vars(user).pop("is_verified", None)
        self.__dict__.clear()


class Handler(WSGIHandler):
    request_class = RequestLeftNoCycles


class HeapSettled:
    """Freezes again what a worker's first requests keep for good.

    A worker's first requests fill what it keeps for its life: URL patterns, templates,
    translations, compiled statements, labels. Made after the freeze at the worker's start
    (``govhall/wsgi.py``), they are walked by each of the collector's full passes: in a
    benchmark's worker, 50,000–64,000 objects after a run, 70–90 ms the longest pass (the
    thirty-ninth session's section of docs/performance.md). So at the start of the 100th, the
    1,000th and the 10,000th request (Django's ``request_started``, before the request is read,
    so that no request's own objects are kept): one full pass, then what is left is frozen.

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
