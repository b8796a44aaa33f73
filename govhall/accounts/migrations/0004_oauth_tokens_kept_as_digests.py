"""Tokens issued before the provider kept them as their SHA-256 alone (RFC 9700, ADR 23) lose
their stored text too: they are looked up by their digest, so they keep working, and a copy of
the database holds no usable token from now on rather than once the last of them expires."""

from django.db import migrations


def _token_texts_blank(apps, schema_editor):
    for name in ("AccessToken", "RefreshToken"):
        model = apps.get_model("oauth2_provider", name)
        model.objects.exclude(token="").exclude(token_checksum="").update(token="")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_totp_activation_code"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [migrations.RunPython(_token_texts_blank, migrations.RunPython.noop)]
