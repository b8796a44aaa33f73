"""The vendor-specific full-text index beside catalog_searchdocument.

PostgreSQL: a generated tsvector column (config 'simple' over the space-joined jieba tokens,
weights A-D by field) with a GIN index; it follows every write to the row by itself.
SQLite: an FTS5 table keyed by implementation id, written by catalog.search next to the row.
Other databases get neither, and search finds nothing there.
"""

from django.db import migrations

POSTGRESQL_FORWARD = [
    """
    ALTER TABLE catalog_searchdocument ADD COLUMN vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, name_tokens), 'A')
        || setweight(to_tsvector('simple'::regconfig, result_theme_tokens), 'B')
        || setweight(to_tsvector('simple'::regconfig, department_material_tokens), 'C')
        || setweight(to_tsvector('simple'::regconfig, condition_basis_tokens), 'D')
    ) STORED
    """,
    "CREATE INDEX catalog_searchdocument_vector_gin ON catalog_searchdocument USING gin (vector)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_searchdocument_vector_gin",
    "ALTER TABLE catalog_searchdocument DROP COLUMN IF EXISTS vector",
]
# unicode61 splits on the spaces between jieba tokens and folds case; prefix indexes are not
# needed because queries match whole tokens.
SQLITE_FORWARD = [
    """
    CREATE VIRTUAL TABLE catalog_searchdocument_fts USING fts5(
        name_tokens, result_theme_tokens, department_material_tokens, condition_basis_tokens,
        tokenize = 'unicode61 remove_diacritics 0'
    )
    """,
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS catalog_searchdocument_fts"]


def _run(schema_editor, statements_by_vendor):
    for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD})


def backward(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_search_document"),
    ]

    operations = [migrations.RunPython(forward, backward)]
