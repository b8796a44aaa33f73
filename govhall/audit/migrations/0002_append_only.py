"""On PostgreSQL a trigger makes the audit table append-only, even for the system administrator's
SQL session through the application's role."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_record_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit records are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_record_append_only
    BEFORE UPDATE OR DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_record_refuse_change();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_record_append_only ON audit_auditrecord;
DROP FUNCTION IF EXISTS audit_record_refuse_change();
"""
SQLITE_CREATE = """
CREATE TRIGGER IF NOT EXISTS audit_record_no_update BEFORE UPDATE ON audit_auditrecord
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_record_no_delete BEFORE DELETE ON audit_auditrecord
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
"""
SQLITE_DROP = """
DROP TRIGGER IF EXISTS audit_record_no_update;
DROP TRIGGER IF EXISTS audit_record_no_delete;
"""


def forwards(apps, schema_editor):
    sql = CREATE if schema_editor.connection.vendor == "postgresql" else SQLITE_CREATE
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(sql)
    else:
        for statement in sql.strip().split("END;"):
            if statement.strip():
                schema_editor.execute(statement + "END;")


def backwards(apps, schema_editor):
    sql = DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP
    for statement in sql.strip().split(";"):
        if statement.strip():
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
