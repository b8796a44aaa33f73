# The department's own index on the counter tables: each also has (department, day or month),
# which serves every lookup by department (ADR 17). Dropped by name, the foreign keys untouched.

import django.db.models.deletion
from django.db import migrations, models

from govhall.migration_indexes import indexes_dropped


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0006_region_month"),
        ("org", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="departmentday",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="org.department",
                        verbose_name="部门",
                    ),
                ),
                migrations.AlterField(
                    model_name="departmentmonth",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="org.department",
                        verbose_name="部门",
                    ),
                ),
                migrations.AlterField(
                    model_name="itemmonth",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="org.department",
                        verbose_name="部门",
                    ),
                ),
            ],
            database_operations=[
                indexes_dropped(
                    [
                        ("metrics_departmentday_department_id_0fa62872", "metrics_departmentday", '"department_id"'),
                        (
                            "metrics_departmentmonth_department_id_dc9c29de",
                            "metrics_departmentmonth",
                            '"department_id"',
                        ),
                        ("metrics_itemmonth_department_id_37e3b197", "metrics_itemmonth", '"department_id"'),
                    ]
                ),
            ],
        ),
    ]
