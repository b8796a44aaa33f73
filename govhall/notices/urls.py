from django.urls import path

from govhall.notices import views

app_name = "notices"

urlpatterns = [
    path("outbox/", views.outbox, name="outbox"),
]
