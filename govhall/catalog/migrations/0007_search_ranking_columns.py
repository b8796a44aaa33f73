"""Search ranking from the index table alone, and a match that never reads the long texts.

Ranking used to read, for every match, the whole weighted tsvector (about 2.4 KB compressed,
stored out of line) four times and to join the implementation and the entry for the popularity
and the name: a broad word (34,000 matches) cost half a second. Now:

- ``popularity`` and ``sort_name`` (the implementation's guide views and the entry's name) are
  kept on the search document, so that ranking needs no join;
- PostgreSQL: the stored ``vector`` column becomes an expression GIN index over the document's
  words (the match needs no recheck, so it never evaluates the expression; a sequential scan
  would, and the planner knows what to_tsvector costs, so it keeps to the index for broad words
  too), and a small generated ``rank_vector`` (the name as weight A, the result and themes as
  B; a few hundred bytes, never compressed or moved out of line) gives the name matches and
  the full-text score; the row's long texts are moved out of line (``toast_tuple_target``) so
  that the rows ranking reads fit many to a page.

The SQL expressions are copied here as they are at this migration (catalog.search builds the
same ones at query time).
"""

from django.db import migrations, models

WORDS = (
    "to_tsvector('simple'::regconfig, name_tokens || ' ' || result_theme_tokens || ' ' || "
    "department_material_tokens || ' ' || condition_basis_tokens)"
)
RANK_VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, name_tokens), 'A') "
    "|| setweight(to_tsvector('simple'::regconfig, result_theme_tokens), 'B')"
)
OLD_VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, name_tokens), 'A') "
    "|| setweight(to_tsvector('simple'::regconfig, result_theme_tokens), 'B') "
    "|| setweight(to_tsvector('simple'::regconfig, department_material_tokens), 'C') "
    "|| setweight(to_tsvector('simple'::regconfig, condition_basis_tokens), 'D')"
)

POSTGRESQL_FORWARD = [
    "DROP INDEX IF EXISTS catalog_searchdocument_vector_gin",
    "ALTER TABLE catalog_searchdocument DROP COLUMN IF EXISTS vector",
    f"ALTER TABLE catalog_searchdocument ADD COLUMN rank_vector tsvector GENERATED ALWAYS AS ({RANK_VECTOR}) STORED",
    "ALTER TABLE catalog_searchdocument ALTER COLUMN rank_vector SET STORAGE PLAIN",
    "ALTER TABLE catalog_searchdocument ALTER COLUMN sort_name SET STORAGE PLAIN",
    # Rows of at most 128 bytes once their long texts are out of line, and room on each page for
    # the new versions the guide-view flushes write (heap-only updates leave the index alone).
    "ALTER TABLE catalog_searchdocument SET (toast_tuple_target = 128, fillfactor = 90)",
]
POSTGRESQL_FORWARD_AFTER_FILL = [
    # The fill queued the deferred foreign-key checks of every row; an index cannot be built on
    # a table with checks pending.
    "SET CONSTRAINTS ALL IMMEDIATE",
    f"CREATE INDEX catalog_searchdocument_words_gin ON catalog_searchdocument USING gin (({WORDS}))",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_searchdocument_words_gin",
    "ALTER TABLE catalog_searchdocument DROP COLUMN IF EXISTS rank_vector",
    "ALTER TABLE catalog_searchdocument RESET (toast_tuple_target, fillfactor)",
    f"ALTER TABLE catalog_searchdocument ADD COLUMN vector tsvector GENERATED ALWAYS AS ({OLD_VECTOR}) STORED",
    "CREATE INDEX catalog_searchdocument_vector_gin ON catalog_searchdocument USING gin (vector)",
]
# Portable (correlated subqueries). On PostgreSQL the long texts are written anew too: a value
# kept from the old row stays compressed in line, and only a new one is moved out of line under
# the new toast_tuple_target.
FILL = (
    "UPDATE catalog_searchdocument SET "
    "popularity = (SELECT implementation.view_count FROM catalog_implementation implementation "
    "WHERE implementation.id = catalog_searchdocument.implementation_id), "
    "sort_name = (SELECT entry.name FROM catalog_implementation implementation "
    "JOIN catalog_catalogueentry entry ON entry.id = implementation.entry_id "
    "WHERE implementation.id = catalog_searchdocument.implementation_id)"
)
POSTGRESQL_FILL_TEXTS = (
    ", department_material_tokens = department_material_tokens || ''"
    ", condition_basis_tokens = condition_basis_tokens || ''"
    ", snippet_text = snippet_text || ''"
)


def forward(apps, schema_editor):
    postgresql = schema_editor.connection.vendor == "postgresql"
    for statement in POSTGRESQL_FORWARD if postgresql else []:
        schema_editor.execute(statement)
    schema_editor.execute(FILL + (POSTGRESQL_FILL_TEXTS if postgresql else ""))
    for statement in POSTGRESQL_FORWARD_AFTER_FILL if postgresql else []:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0006_bundle_bundleitem"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchdocument",
            name="popularity",
            field=models.PositiveIntegerField(default=0, verbose_name="热度"),
        ),
        migrations.AddField(
            model_name="searchdocument",
            name="sort_name",
            field=models.CharField(blank=True, max_length=128, verbose_name="排序名称"),
        ),
        migrations.RunPython(forward, backward),
    ]
