"""Postings for one-word queries (ADR 14), and popularity as a level.

- ``SearchDocument.popularity`` becomes the guide views' binary order of magnitude (the bit
  length of the count: 0, 1, 2 for 2–3, 3 for 4–7 …), so that it changes a few dozen times in an
  item's life rather than at every flush of views;
- ``SearchPosting``: one row per word of a document that a one-word query can look up (a run of
  Chinese characters, Latin letters or digits), with the name match, ts_rank, popularity and
  name that order that word's matches, and an index in that order. Filled here from the
  documents on PostgreSQL (about 142 rows a document); SQLite leaves it empty.

The SQL is copied here as it is at this migration (catalog.search builds the same).
"""

import django.db.models.deletion
from django.db import migrations, models

import govhall.catalog.models


WORDS = (
    "to_tsvector('simple'::regconfig, document.name_tokens || ' ' || document.result_theme_tokens || ' ' "
    "|| document.department_material_tokens || ' ' || document.condition_basis_tokens)"
)
POSTING_WORD = r"[\u3400-\u9fff]+|[a-z]+|[0-9]+"
LEVELS = (
    "UPDATE catalog_searchdocument AS document "
    "SET popularity = length(ltrim(implementation.view_count::bit(32)::text, '0')) "
    "FROM catalog_implementation AS implementation WHERE implementation.id = document.implementation_id"
)
QUERY = "to_tsquery('simple', quote_literal(word.lexeme)"
POSTINGS = (
    "INSERT INTO catalog_searchposting (implementation_id, word, in_name, score, popularity, sort_name) "
    "SELECT document.implementation_id, word.lexeme, "
    f"document.rank_vector @@ {QUERY} || ':A'), ts_rank(document.rank_vector, {QUERY})), "
    "document.popularity, document.sort_name "
    f"FROM catalog_searchdocument document CROSS JOIN LATERAL unnest({WORDS}) AS word "
    "WHERE word.lexeme ~ ('^(?:' || %s || ')$')"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LEVELS)
        schema_editor.execute(POSTINGS, [POSTING_WORD])
        return
    document_model = apps.get_model("catalog", "SearchDocument")
    for document in document_model.objects.select_related("implementation"):
        level = document.implementation.view_count.bit_length()
        if document.popularity != level:
            document_model.objects.filter(pk=document.pk).update(popularity=level)


def backward(apps, schema_editor):
    # The counts themselves are the implementations'; a level is put back as the count.
    document_model = apps.get_model("catalog", "SearchDocument")
    implementation_model = apps.get_model("catalog", "Implementation")
    document_model.objects.update(
        popularity=models.Subquery(
            implementation_model.objects.filter(pk=models.OuterRef("implementation_id")).values("view_count")[:1]
        )
    )


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_search_ranking_columns'),
    ]

    operations = [
        migrations.AlterField(
            model_name='searchdocument',
            name='popularity',
            field=models.PositiveIntegerField(default=0, verbose_name='热度等级'),
        ),
        migrations.CreateModel(
            name='SearchPosting',
            fields=[
                ('pk', models.CompositePrimaryKey('document_id', 'word', blank=True, editable=False, primary_key=True, serialize=False)),
                ('word', models.TextField(verbose_name='词')),
                ('in_name', models.BooleanField(verbose_name='名称含此词')),
                ('score', govhall.catalog.models.RealField(verbose_name='相关度')),
                ('popularity', models.PositiveIntegerField(verbose_name='热度等级')),
                ('sort_name', models.CharField(blank=True, max_length=128, verbose_name='排序名称')),
                ('document', models.ForeignKey(db_column='implementation_id', db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='postings', to='catalog.searchdocument')),
            ],
            options={
                'verbose_name': '检索倒排项',
                'verbose_name_plural': '检索倒排项',
            },
        ),
        # Filled before its index is built: building once is far faster than 14 million inserts
        # into it at 100,000 documents.
        migrations.RunPython(forward, backward),
        migrations.AddIndex(
            model_name='searchposting',
            index=models.Index(fields=['word', '-in_name', '-score', '-popularity', 'sort_name', 'document'], name='catalog_posting_ranked'),
        ),
    ]
