# The planner's estimate of the to-do list's "open and unclaimed" tasks: PostgreSQL multiplies
# the share of open tasks by the share of tasks without an assignee as if they were
# independent, but nearly every task without an assignee is an open one (a closed task keeps
# who closed it). With 10 million cases that estimate was a hundred times too small (1,969
# against 236,669), and the list was read through the assignee index, filtering every open
# task of the province (1.3 s), instead of its own index (1.5 ms). Statistics of the two
# columns together (their most common combinations) give the planner the real share.
# PostgreSQL only; nothing on SQLite.

from django.db import migrations

STATISTICS = "casetask_state_assignee"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv) ON state, assignee_id FROM cases_casetask"
        )
        schema_editor.execute("ANALYZE cases_casetask")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_open_todo_index_covers_assignee"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
