"""The development outbox page: the messages the demo "sent", so codes can be read without a phone."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from govhall.notices.selectors import outbox_is_enabled, outbox_latest


@require_GET
def outbox(request: HttpRequest) -> HttpResponse:
    if not outbox_is_enabled():
        raise Http404
    return render(request, "notices/outbox.html", {"messages_sent": outbox_latest()})
