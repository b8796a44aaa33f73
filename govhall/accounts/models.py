"""People and staff.

The identity issue grows this app (identity numbers, companies, assurance levels, two factors);
the foundation needs only staff with roles bound to a department, which scope what they may do.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    WINDOW_CLERK = "window_clerk", _("窗口人员")
    REVIEWER = "reviewer", _("审批人员")
    DECIDER = "decider", _("决定人员")
    DEPARTMENT_ADMINISTRATOR = "department_administrator", _("部门管理员")
    SUPERVISOR = "supervisor", _("监察人员")
    CATALOGUE_ADMINISTRATOR = "catalogue_administrator", _("事项管理员")
    CATALOGUE_REVIEWER = "catalogue_reviewer", _("事项审核员")
    SYSTEM_ADMINISTRATOR = "system_administrator", _("系统管理员")
    SECURITY_ADMINISTRATOR = "security_administrator", _("安全管理员")
    AUDITOR = "auditor", _("安全审计员")


class StaffAssignment(models.Model):
    """A role a staff member holds in a department; the department's region bounds its scope."""

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="assignments")
    department = models.ForeignKey(
        "org.Department", verbose_name=_("部门"), on_delete=models.PROTECT, related_name="staff_assignments"
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)

    class Meta:
        verbose_name = _("岗位")
        verbose_name_plural = _("岗位")
        constraints = [
            models.UniqueConstraint(fields=["user", "department", "role"], name="staff_assignment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.department} · {self.get_role_display()}"
