"""Room in each page of the device table, so that the ingest's per-batch updates of the
devices' latest state stay HOT updates on PostgreSQL (no index writes)."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE telemetry_device SET (fillfactor = 40)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE telemetry_device RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0001_initial")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
