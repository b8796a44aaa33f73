# A case's steps are looked up by their case, and then by state, step or department among that
# case's few rows (the guards, the step's successors, the timeline's open steps): no lookup
# reaches the state through the index, and the lists of open steps read the to-do index. Of
# (case, state) the index took 41 s to build at 10 million cases (50 million steps) and 656 MB;
# of the case alone 25 s and 563 MB (docs/performance.md, the thirty-fifth session). Built and
# the old one dropped concurrently on PostgreSQL (ADR 25), so actions go on meanwhile.

from django.db import migrations, models

from govhall.migration_indexes import AddIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("cases", "0015_material_index_by_case"),
    ]

    operations = [
        AddIndexOnline(model_name="casetask", index=models.Index(fields=["case"], name="casetask_case")),
        RemoveIndexOnline(model_name="casetask", name="cases_caset_case_id_19db7c_idx"),
    ]
