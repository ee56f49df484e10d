"""The (device, ts) index of the messages stays on PostgreSQL only.

On SQLite (the embedded mode) a second index beginning with the device costs a third of
the ingest's throughput, and the readings of a device over time are found well enough
through the unique (device, seq) index. The index is kept out of the model's state so
that each backend keeps what suits it.
"""

from django.db import migrations

INDEX = "telemetry_msg_device_ts"


def drop_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def restore_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON telemetry_telemetrymessage (device_id, ts)"
        )


class Migration(migrations.Migration):
    dependencies = [("telemetry", "0002_device_fillfactor")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="telemetrymessage", name=INDEX),
            ],
            database_operations=[migrations.RunPython(drop_on_sqlite, restore_on_sqlite)],
        ),
    ]
