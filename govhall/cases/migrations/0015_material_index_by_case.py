# A case's materials are looked up by their case, and then by name among that case's few rows
# (a correction's supersession, a deferred material's arrival, the page of a case): no lookup
# reaches the name through the index. The index of (case, material name) was the largest of the
# case tables at 10 million cases, 1,814 MB for 28 million materials, and took 28 s to build;
# of the case alone it is 466 MB and takes 15 s (docs/performance.md, the thirty-fifth session).
# Built and the old one dropped concurrently on PostgreSQL (ADR 25), so filing goes on meanwhile.

from django.db import migrations, models

from govhall.migration_indexes import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("cases", "0014_applicant_index_holds_state"),
    ]

    operations = [
        AddIndexOnline(model_name="casematerial", index=models.Index(fields=["case"], name="casematerial_case")),
        RemoveIndexOnline(model_name="casematerial", name="cases_casem_case_id_8e5cca_idx"),
    ]
