from django.http import HttpRequest

# Shown on every page: the national government service hotline.
HOTLINE = "12345"


def portal(request: HttpRequest) -> dict:
    return {"elder_mode": getattr(request, "elder_mode", False), "hotline": HOTLINE}
