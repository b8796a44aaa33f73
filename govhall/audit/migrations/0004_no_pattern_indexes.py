# An audit record is written under the chain's lock: the LIKE indexes of its action and
# outcome, which no lookup uses, are dropped (ADR 17); the plain ones are kept under new names
# (renamed on PostgreSQL, built again elsewhere).

from django.conf import settings
from django.db import migrations, models

from govhall.migration_indexes import indexes_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_hash_chain"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditrecord",
                    name="action",
                    field=models.CharField(max_length=64, verbose_name="操作"),
                ),
                migrations.AlterField(
                    model_name="auditrecord",
                    name="outcome",
                    field=models.CharField(
                        choices=[("success", "成功"), ("failure", "失败"), ("refused", "拒绝")],
                        default="success",
                        max_length=16,
                        verbose_name="结果",
                    ),
                ),
                migrations.AddIndex(
                    model_name="auditrecord",
                    index=models.Index(fields=["action"], name="audit_record_action"),
                ),
                migrations.AddIndex(
                    model_name="auditrecord",
                    index=models.Index(fields=["outcome"], name="audit_record_outcome"),
                ),
            ],
            database_operations=[
                indexes_dropped(
                    [
                        ("audit_auditrecord_action_2f2b5041_like", "audit_auditrecord", '"action" varchar_pattern_ops'),
                        (
                            "audit_auditrecord_outcome_6c1b14a6_like",
                            "audit_auditrecord",
                            '"outcome" varchar_pattern_ops',
                        ),
                    ],
                    postgresql=[
                        (
                            "ALTER INDEX audit_auditrecord_action_2f2b5041 RENAME TO audit_record_action",
                            "ALTER INDEX audit_record_action RENAME TO audit_auditrecord_action_2f2b5041",
                        ),
                        (
                            "ALTER INDEX audit_auditrecord_outcome_6c1b14a6 RENAME TO audit_record_outcome",
                            "ALTER INDEX audit_record_outcome RENAME TO audit_auditrecord_outcome_6c1b14a6",
                        ),
                    ],
                    others=[
                        (
                            'DROP INDEX IF EXISTS "audit_auditrecord_action_2f2b5041"',
                            'CREATE INDEX "audit_auditrecord_action_2f2b5041" ON "audit_auditrecord" ("action")',
                        ),
                        (
                            'CREATE INDEX "audit_record_action" ON "audit_auditrecord" ("action")',
                            'DROP INDEX "audit_record_action"',
                        ),
                        (
                            'DROP INDEX IF EXISTS "audit_auditrecord_outcome_6c1b14a6"',
                            'CREATE INDEX "audit_auditrecord_outcome_6c1b14a6" ON "audit_auditrecord" ("outcome")',
                        ),
                        (
                            'CREATE INDEX "audit_record_outcome" ON "audit_auditrecord" ("outcome")',
                            'DROP INDEX "audit_record_outcome"',
                        ),
                    ],
                ),
            ],
        ),
    ]
