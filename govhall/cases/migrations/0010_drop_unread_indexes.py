# Indexes no lookup uses, on the tables every case writes to (ADR 17): foreign keys to rows
# never deleted (accounts, the catalogue, regions, definitions, people) and the case number's
# pattern index. Dropped by name: Django would drop and check each foreign key again, which on
# tens of millions of rows takes minutes under a lock. The number's unique constraint is renamed
# on PostgreSQL (SQLite keeps its column constraint).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from govhall.migration_indexes import indexes_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_totp_activation_code"),
        ("cases", "0009_casetask_state_assignee_statistics"),
        ("catalog", "0010_guide_bodies"),
        ("org", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="definition",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.casedefinition",
                        verbose_name="办件定义",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="implementation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="catalog.implementation",
                        verbose_name="实施清单",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="number",
                    field=models.CharField(blank=True, max_length=32, null=True, verbose_name="办件编号"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="person",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.person",
                        verbose_name="申请人",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="region",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="org.region",
                        verbose_name="区划",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseevent",
                    name="actor",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="办理人",
                    ),
                ),
                migrations.AlterField(
                    model_name="casematerial",
                    name="uploaded_by",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="上传人",
                    ),
                ),
                migrations.AlterField(
                    model_name="casetask",
                    name="closed_by",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="办理人",
                    ),
                ),
                migrations.AlterField(
                    model_name="correctionnotice",
                    name="issued_by",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="告知人",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="case",
                    constraint=models.UniqueConstraint(fields=("number",), name="case_number_unique"),
                ),
            ],
            database_operations=[
                indexes_dropped(
                    [
                        ("cases_case_definition_id_a0b1a394", "cases_case", '"definition_id"'),
                        ("cases_case_implementation_id_cbcf8385", "cases_case", '"implementation_id"'),
                        ("cases_case_number_980c9551_like", "cases_case", '"number" varchar_pattern_ops'),
                        ("cases_case_person_id_f87eeffa", "cases_case", '"person_id"'),
                        ("cases_case_region_id_ffee331b", "cases_case", '"region_id"'),
                        ("cases_case_region_id_ffee331b_like", "cases_case", '"region_id" varchar_pattern_ops'),
                        ("cases_caseevent_actor_id_3b42ca2c", "cases_caseevent", '"actor_id"'),
                        ("cases_casematerial_uploaded_by_id_8047a445", "cases_casematerial", '"uploaded_by_id"'),
                        ("cases_casetask_closed_by_id_d7ede679", "cases_casetask", '"closed_by_id"'),
                        ("cases_correctionnotice_issued_by_id_bbdc0549", "cases_correctionnotice", '"issued_by_id"'),
                    ],
                    postgresql=[
                        (
                            "ALTER TABLE cases_case RENAME CONSTRAINT cases_case_number_key TO case_number_unique",
                            "ALTER TABLE cases_case RENAME CONSTRAINT case_number_unique TO cases_case_number_key",
                        )
                    ],
                ),
            ],
        ),
    ]
