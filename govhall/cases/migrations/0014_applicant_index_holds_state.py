# "My cases" counts a person's submitted cases (state not draft) for its pages. From an index of
# (applicant, -created_at) alone PostgreSQL read a table page for each case to see its state: a
# person's cases lie apart in the table, 806 pages for the benchmark's first applicant's 817
# cases (104 ms with them on disk, 0.9 ms in memory). With the state in the index the count
# reads the index alone (0.5 ms; docs/performance.md, the twenty-ninth session). The index is
# built and the old one dropped concurrently on PostgreSQL, so that filing goes on meanwhile.

from django.conf import settings
from django.db import migrations, models

from govhall.migration_indexes import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("accounts", "0004_oauth_tokens_kept_as_digests"),
        ("cases", "0013_case_rows_per_case_statistics"),
        ("catalog", "0012_implementation_region_listed"),
        ("org", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexOnline(
            model_name="case",
            index=models.Index(fields=["applicant", "-created_at", "state"], name="case_applicant_created"),
        ),
        RemoveIndexOnline(model_name="case", name="cases_case_applica_a13800_idx"),
    ]
