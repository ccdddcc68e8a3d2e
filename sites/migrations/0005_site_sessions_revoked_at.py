from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("sites", "0004_edgerelease_schema_version_2"),
    ]

    operations = [
        migrations.AddField(
            model_name="protectedsite",
            name="sessions_revoked_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
