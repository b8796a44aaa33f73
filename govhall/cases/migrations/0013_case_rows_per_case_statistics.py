# How many rows a case has in its history tables, for the planner. ANALYZE estimates the
# distinct case ids of a table from a sample of 30,000 rows, and with tens of millions of rows
# it guesses far too few: at 11 million cases, 524,019 cases for 67 million timeline events
# (128 events a case instead of 6), 342,189 for 55 million steps, 404,756 for 33 million
# materials. Planning a case's timeline for 128 rows, PostgreSQL hashed every department to
# join them instead of looking up the few it needs. A case has a handful of each (ADR 17):
# the share of distinct case ids is set (a negative n_distinct: a fraction of the rows, so it
# holds as the tables grow); the tables are analysed again to use it. PostgreSQL only.

from django.db import migrations

# table: distinct case ids as a share of its rows (about 10 events, 5 steps, 5 materials a case)
SHARES = {"cases_caseevent": 0.1, "cases_casetask": 0.2, "cases_casematerial": 0.2}


def share_set(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, share in SHARES.items():
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN case_id SET (n_distinct = -{share})")
            schema_editor.execute(f"ANALYZE {table}")


def share_reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table in SHARES:
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN case_id RESET (n_distinct)")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_task_indexes_by_lookup"),
    ]

    operations = [migrations.RunPython(share_set, share_reset, elidable=False)]
