"""Cases point at a shared definition instead of carrying copies of the form, the material list
and the process (ADR 0005, "Definitions shared by content")."""

import hashlib
import json

import django.db.models.deletion
from django.db import migrations, models


def _digest(form, materials, process) -> str:
    canonical = json.dumps(
        {"form": form, "materials": materials, "process": process},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def definitions_share(apps, schema_editor) -> None:
    Case = apps.get_model("cases", "Case")
    CaseDefinition = apps.get_model("cases", "CaseDefinition")
    known: dict[str, int] = {}
    pending: dict[int, list[int]] = {}
    rows = Case.objects.order_by("pk").values_list("pk", "form_definition", "material_list", "process_definition")
    for pk, form, materials, process in rows.iterator(chunk_size=2000):
        digest = _digest(form or {}, materials or [], process or {})
        if digest not in known:
            known[digest] = CaseDefinition.objects.create(
                sha256=digest, form=form or {}, materials=materials or [], process=process or {}
            ).pk
        pending.setdefault(known[digest], []).append(pk)
        if sum(len(ids) for ids in pending.values()) >= 5000:
            for definition_id, ids in pending.items():
                Case.objects.filter(pk__in=ids).update(definition_id=definition_id)
            pending = {}
    for definition_id, ids in pending.items():
        Case.objects.filter(pk__in=ids).update(definition_id=definition_id)


def definitions_copy_back(apps, schema_editor) -> None:
    Case = apps.get_model("cases", "Case")
    for case in Case.objects.select_related("definition").iterator(chunk_size=2000):
        Case.objects.filter(pk=case.pk).update(
            form_definition=case.definition.form,
            material_list=case.definition.materials,
            process_definition=case.definition.process,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0003_commitments_and_deferred_materials"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseDefinition",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sha256", models.CharField(max_length=64, unique=True, verbose_name="内容摘要")),
                ("form", models.JSONField(default=dict, verbose_name="申请表定义")),
                ("materials", models.JSONField(default=list, verbose_name="材料清单")),
                ("process", models.JSONField(default=dict, verbose_name="流程定义")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="创建时间")),
            ],
            options={"verbose_name": "办件定义", "verbose_name_plural": "办件定义"},
        ),
        migrations.AddField(
            model_name="case",
            name="definition",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cases.casedefinition",
                verbose_name="办件定义",
            ),
        ),
        migrations.RunPython(definitions_share, definitions_copy_back, elidable=False),
        migrations.RemoveField(model_name="case", name="form_definition"),
        migrations.RemoveField(model_name="case", name="material_list"),
        migrations.RemoveField(model_name="case", name="process_definition"),
        migrations.AlterField(
            model_name="case",
            name="definition",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cases.casedefinition",
                verbose_name="办件定义",
            ),
        ),
    ]
