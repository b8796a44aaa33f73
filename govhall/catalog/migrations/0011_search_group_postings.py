"""Group postings (ADR 18): for each synonym whose query is answered from the postings of several
words (社保: 社保 or 社会保险), those postings summed per document in advance, so that a page of
such a query is a range of one index. Filled here on PostgreSQL from the postings, for the keys
of the synonyms as they are (the segmentation is the search's own, ``search.group_keys``), and
counted with the words; SQLite leaves the table empty.

The SQL is copied here as it is at this migration (catalog.search builds the same).
"""

import django.db.models.deletion
from django.db import migrations, models

from govhall.catalog.search import group_keys


INSERT = (
    "INSERT INTO catalog_searchgroupposting (implementation_id, words, in_name, held, score, popularity, sort_name) "
    "SELECT posting.implementation_id, k.key, SUM(posting.in_name::int), "
    "COUNT(*) FILTER (WHERE posting.word = ANY(k.longest)), SUM(posting.score::float8) / cardinality(k.words), "
    "MAX(posting.popularity), MAX(posting.sort_name) "
    "FROM (SELECT key, string_to_array(split_part(key, '#', 1), '|') AS words, "
    "string_to_array(nullif(split_part(key, '#', 2), ''), '|') AS longest FROM unnest(%s::text[]) AS key) k "
    "JOIN catalog_searchposting posting ON posting.word = ANY(k.words) "
    "GROUP BY posting.implementation_id, k.key, k.words, k.longest"
)
COUNT = (
    "INSERT INTO catalog_searchword (word, documents) "
    "SELECT words, COUNT(*) FROM catalog_searchgroupposting GROUP BY words ORDER BY words"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    synonym_model = apps.get_model("catalog", "SearchSynonym")
    synonyms = tuple(
        (term.lower(), expansion)
        for term, expansion in synonym_model.objects.exclude(term="").values_list("term", "expansion")
    )
    keys = group_keys(synonyms)
    if keys:
        schema_editor.execute(INSERT, [keys])
        schema_editor.execute(COUNT)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DELETE FROM catalog_searchword WHERE strpos(word, '#') > 0")


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0010_guide_bodies'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchGroupPosting',
            fields=[
                ('pk', models.CompositePrimaryKey('document_id', 'words', blank=True, editable=False, primary_key=True, serialize=False)),
                ('words', models.TextField(verbose_name='词组')),
                ('in_name', models.PositiveSmallIntegerField(verbose_name='名称所含词数')),
                ('held', models.PositiveSmallIntegerField(verbose_name='所含最长词数')),
                ('score', models.FloatField(verbose_name='相关度')),
                ('popularity', models.PositiveIntegerField(verbose_name='热度等级')),
                ('sort_name', models.CharField(blank=True, max_length=128, verbose_name='排序名称')),
                ('document', models.ForeignKey(db_column='implementation_id', db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='group_postings', to='catalog.searchdocument')),
            ],
            options={
                'verbose_name': '同义词组检索倒排项',
                'verbose_name_plural': '同义词组检索倒排项',
                'indexes': [models.Index(fields=['words', '-in_name', '-held', '-score', '-popularity', 'sort_name', 'document'], name='catalog_groupposting_ranked')],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
