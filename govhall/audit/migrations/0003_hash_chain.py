"""The audit record gains acting-for, outcome, address and the hash chain.

The append-only triggers are lifted for the length of this migration only: SQLite rebuilds the
table to add columns (which drops its triggers), and the existing rows get their hashes computed
in id order, which is an UPDATE. The triggers are put back from 0002's own statements at the end.
"""

from importlib import import_module

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


append_only = import_module("govhall.audit.migrations.0002_append_only")


def chain_existing_records(apps, schema_editor):
    from govhall.audit.chain import GENESIS_HASH, audit_record_hash_of

    AuditRecord = apps.get_model("audit", "AuditRecord")
    previous = GENESIS_HASH
    for record in AuditRecord.objects.order_by("id").iterator(chunk_size=1000):
        record.previous_hash = previous
        record.record_hash = audit_record_hash_of(record)
        record.save(update_fields=["previous_hash", "record_hash"])
        previous = record.record_hash


def clear_chain(apps, schema_editor):
    # Going back, the columns are dropped; nothing to undo in the rows.
    pass


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0002_append_only'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(append_only.backwards, append_only.forwards),
        migrations.AddField(
            model_name='auditrecord',
            name='acting_for',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='代表'),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='address',
            field=models.CharField(blank=True, default='', max_length=45, verbose_name='来源地址'),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='outcome',
            field=models.CharField(choices=[('success', '成功'), ('failure', '失败'), ('refused', '拒绝')], db_index=True, default='success', max_length=16, verbose_name='结果'),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='previous_hash',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='前一条哈希'),
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='record_hash',
            field=models.CharField(blank=True, default='', max_length=64, verbose_name='本条哈希'),
        ),
        migrations.AlterField(
            model_name='auditrecord',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='时间'),
        ),
        migrations.RunPython(chain_existing_records, clear_chain),
        migrations.AddConstraint(
            model_name='auditrecord',
            constraint=models.UniqueConstraint(fields=('previous_hash',), name='audit_record_one_successor'),
        ),
        migrations.RunPython(append_only.forwards, append_only.backwards),
    ]
