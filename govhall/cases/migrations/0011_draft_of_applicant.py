# The draft an application resumes is looked up by applicant, implementation and state: with
# the implementation's own index gone (0010), PostgreSQL read every case of the applicant for
# it (10-19 ms for an applicant of 860 cases). Drafts only: a few rows of each applicant (ADR 17).

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_totp_activation_code"),
        ("cases", "0010_drop_unread_indexes"),
        ("catalog", "0010_guide_bodies"),
        ("org", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("state", "draft")),
                fields=["applicant", "implementation"],
                name="case_draft_of_applicant",
            ),
        ),
    ]
