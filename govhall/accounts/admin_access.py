"""Who may do what in the Django admin, decided by role through the guards.

Every ModelAdmin and inline registered on the site mixes in ``RoleGuardedAdmin`` (a test checks
it), so Django's is_superuser flag and model permissions give nothing in the admin: the system
administrator runs the system's data, the security administrator grants roles, the auditor reads
the audit trail (三员分立), and nobody else sees anything here.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

Guard = Callable[..., bool]


def _guard_passes(request: HttpRequest, guard: Guard) -> bool:
    # The admin asks the same question many times per page (every model on the index, every
    # inline); each guard is answered once per request.
    cache = request.__dict__.setdefault("_admin_guard_answers", {})
    if guard not in cache:
        cache[guard] = guard(user=request.user)
    return cache[guard]


class RoleGuardedAdmin:
    """``viewers`` may open lists and pages read-only; ``editors`` may also add, change and
    delete. Either is a tuple of guards taking ``user``; any one passing is enough."""

    viewers: tuple[Guard, ...] = ()
    editors: tuple[Guard, ...] = ()

    def _may_edit(self, request: HttpRequest) -> bool:
        return any(_guard_passes(request, guard) for guard in self.editors)

    def _may_view(self, request: HttpRequest) -> bool:
        return self._may_edit(request) or any(_guard_passes(request, guard) for guard in self.viewers)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_view(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_view(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request)
