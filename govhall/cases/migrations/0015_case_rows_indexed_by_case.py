# A case's materials and steps are looked up by their case, and then by name, state, step or
# department among that case's few rows (a correction's supersession, a deferred material's
# arrival, the guards, a step's successors, the case page); the lists of open steps read the
# to-do index. No lookup reaches the name or the state through these indexes. At 10 million
# cases the index of (case, material name) was the largest of the case tables, 1,814 MB for
# 29.5 million materials, built in 28 s; of the case alone it is 466 MB, built in 15 s. The
# steps' (case, state) over 50 million steps was 656 MB, built in 41 s; of the case alone 563 MB
# in 25 s (docs/performance.md, the thirty-fifth session). Built and the old ones dropped
# concurrently on PostgreSQL (ADR 25), so filings and actions go on meanwhile.

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
        AddIndexOnline(model_name="casetask", index=models.Index(fields=["case"], name="casetask_case")),
        RemoveIndexOnline(model_name="casetask", name="cases_caset_case_id_19db7c_idx"),
    ]
