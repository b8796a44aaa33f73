from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    return {"elder_mode": getattr(request, "elder_mode", False)}
