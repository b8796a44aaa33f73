"""The audit chain in lanes (docs/adr/0029): each record names its lane, a chain of its own
from ``GENESIS_HASH`` in id order; a lane's records have one successor each, and its last one
is found from an index. The records written before are lane 0's.

On PostgreSQL two functions replace ``audit_chain_tip`` (migration 0005):
``audit_chain_lane`` takes the first lane no other transaction holds, from the writer's
preferred one on, or waits for the preferred one when all are held; it remembers the lane for
the rest of the transaction (a transaction-local setting), so a transaction that counts before
it writes its records takes one lane, not two. ``audit_chain_lane_tip`` does that and reads
the lane's last hash. Both are VOLATILE: the read takes its snapshot once the lock is granted,
and sees what the lane's last holder committed (ADR 21).

The append-only triggers are lifted for the length of this migration, as in 0003: SQLite
rebuilds the table to change its constraint, which drops its triggers."""

from importlib import import_module

from django.conf import settings
from django.db import migrations, models

append_only = import_module("govhall.audit.migrations.0002_append_only")
chain_tip = import_module("govhall.audit.migrations.0005_chain_tip")

CREATE = """
CREATE OR REPLACE FUNCTION audit_chain_lane(lock_key integer, lanes integer, preferred integer)
RETURNS integer AS $$
DECLARE
    held text := current_setting('govhall.audit_lane', true);
    candidate integer;
BEGIN
    IF held IS NOT NULL AND held <> '' THEN
        RETURN held::integer;
    END IF;
    FOR step IN 0 .. lanes - 1 LOOP
        candidate := mod(preferred + step, lanes);
        IF pg_try_advisory_xact_lock(lock_key, candidate) THEN
            PERFORM set_config('govhall.audit_lane', candidate::text, true);
            RETURN candidate;
        END IF;
    END LOOP;
    candidate := mod(preferred, lanes);
    PERFORM pg_advisory_xact_lock(lock_key, candidate);
    PERFORM set_config('govhall.audit_lane', candidate::text, true);
    RETURN candidate;
END;
$$ LANGUAGE plpgsql VOLATILE;

CREATE OR REPLACE FUNCTION audit_chain_lane_tip(
    lock_key integer, lanes integer, preferred integer, OUT chain_lane integer, OUT chain_tip varchar
) AS $$
BEGIN
    chain_lane := audit_chain_lane(lock_key, lanes, preferred);
    chain_tip := (
        SELECT r.record_hash FROM audit_auditrecord r WHERE r.lane = chain_lane ORDER BY r.id DESC LIMIT 1
    );
END;
$$ LANGUAGE plpgsql VOLATILE;

DROP FUNCTION IF EXISTS audit_chain_tip(bigint);
"""
DROP = """
DROP FUNCTION IF EXISTS audit_chain_lane_tip(integer, integer, integer);
DROP FUNCTION IF EXISTS audit_chain_lane(integer, integer, integer);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(chain_tip.CREATE)


def one_chain_or_refuse(apps, schema_editor):
    """Going back to one chain: possible only while every record is lane 0's; the others' would
    have to be chained again, their hashes rewritten, which is not for a migration to do."""
    AuditRecord = apps.get_model("audit", "AuditRecord")
    if AuditRecord.objects.exclude(lane=0).exists():
        raise RuntimeError(
            "audit records were written in lanes other than 0 (ADR 29); "
            "going back to one chain would rewrite their hashes, and is refused"
        )


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0005_chain_tip'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(append_only.backwards, append_only.forwards),
        migrations.RemoveConstraint(
            model_name='auditrecord',
            name='audit_record_one_successor',
        ),
        migrations.AddField(
            model_name='auditrecord',
            name='lane',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='分链'),
        ),
        migrations.AddIndex(
            model_name='auditrecord',
            index=models.Index(fields=['lane', 'id'], name='audit_record_lane_tip'),
        ),
        migrations.AddConstraint(
            model_name='auditrecord',
            constraint=models.UniqueConstraint(fields=('lane', 'previous_hash'), name='audit_record_one_successor'),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(append_only.forwards, append_only.backwards),
        migrations.RunPython(migrations.RunPython.noop, one_chain_or_refuse),
    ]
