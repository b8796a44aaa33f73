# The steps' indexes follow their lookups (ADR 17): open steps are read through the to-do
# index; a department's steps need an index only for the check that refuses deleting it, which
# one on the department alone serves; nothing reads steps by assignee and state.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_draft_of_applicant"),
        ("org", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="casetask",
            name="cases_caset_departm_cb05ff_idx",
        ),
        migrations.RemoveIndex(
            model_name="casetask",
            name="cases_caset_assigne_f76850_idx",
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["department"], name="casetask_department"),
        ),
    ]
