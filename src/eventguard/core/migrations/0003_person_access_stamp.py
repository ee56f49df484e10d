"""A person's access stamp: a new one whenever what they may see changes, so that each server
process can keep their grants between requests (core/access.py)."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_unit_categories"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="access_stamp",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
    ]
