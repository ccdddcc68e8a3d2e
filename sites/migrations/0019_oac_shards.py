from django.conf import settings
from django.db import migrations, models


def existing_sites_keep_the_shared_oac(apps, schema_editor):
    # Every distribution made before sharding was attached to the one shared
    # origin access control.
    ProtectedSite = apps.get_model("sites", "ProtectedSite")
    ProtectedSite.objects.exclude(distribution_id="").update(oac_name=settings.GATEHOUSE_OAC_NAME)


class Migration(migrations.Migration):
    dependencies = [("sites", "0018_share_links")]

    operations = [
        migrations.AddField(
            model_name="protectedsite",
            name="oac_name",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(existing_sites_keep_the_shared_oac, migrations.RunPython.noop),
    ]
