"""Viewer, Operator and Admin groups with the console's three permissions."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from sites.roles import GROUP_NAMES, PERMISSIONS, ROLES

    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="sites", model="protectedsite")
    held = []
    for role in ROLES:
        codename, name = PERMISSIONS[role]
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        held.append(permission)
        group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
        group.permissions.add(*held)


class Migration(migrations.Migration):
    dependencies = [
        ("sites", "0007_deployment_lease"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="protectedsite",
            options={
                "ordering": ["client", "name"],
                "permissions": [
                    ("view_console", "Can read every console page"),
                    ("operate_sites", "Can onboard, upload builds, edit access, redeploy"),
                    ("administer_sites", "Can delete, disable, manage providers and releases"),
                ],
            },
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
