"""On PostgreSQL, one function takes the audit chain's lock and reads its last hash, so that an
audited write asks both in one round trip instead of two (docs/adr/0021).

The function is VOLATILE, so its query takes a snapshot of its own once the lock is granted: it
sees the record the lock's last holder committed while this transaction waited. One statement
doing both (the lock in its select list, the read in a subquery) would read with the snapshot its
statement began with, before the wait, and chain to the same predecessor as the record committed
meanwhile, which the one-successor constraint refuses."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_chain_tip(lock_key bigint) RETURNS varchar AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    RETURN (SELECT record_hash FROM audit_auditrecord ORDER BY id DESC LIMIT 1);
END;
$$ LANGUAGE plpgsql VOLATILE;
"""
DROP = "DROP FUNCTION IF EXISTS audit_chain_tip(bigint);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_no_pattern_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
