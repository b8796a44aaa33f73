"""How many documents hold each word that has postings (ADR 14), kept with the postings, so that
a one-word query's count is one row. Counted here from the postings on PostgreSQL; SQLite has
none.
"""

from django.db import migrations, models


COUNT = (
    "INSERT INTO catalog_searchword (word, documents) "
    "SELECT word, COUNT(*) FROM catalog_searchposting GROUP BY word ORDER BY word"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COUNT)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0008_search_postings'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchWord',
            fields=[
                ('word', models.TextField(primary_key=True, serialize=False, verbose_name='词')),
                ('documents', models.IntegerField(default=0, verbose_name='文档数')),
            ],
            options={
                'verbose_name': '检索词',
                'verbose_name_plural': '检索词',
            },
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
