"""Builds get a number within their site (1, 2, 3), as staff call them."""

from django.db import migrations, models


def number_builds(apps, schema_editor):
    Build = apps.get_model("sites", "Build")
    counters: dict[int, int] = {}
    for build in Build.objects.order_by("site_id", "created_at", "pk").only("pk", "site_id"):
        counters[build.site_id] = counters.get(build.site_id, 0) + 1
        Build.objects.filter(pk=build.pk).update(number=counters[build.site_id])


class Migration(migrations.Migration):
    dependencies = [
        ("sites", "0002_deployment_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="build",
            name="number",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(number_builds, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="build",
            constraint=models.UniqueConstraint(fields=("site", "number"), name="build_unique_number_per_site"),
        ),
    ]
