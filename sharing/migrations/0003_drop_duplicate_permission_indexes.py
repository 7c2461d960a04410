"""Drop two indexes that repeated, column for column, the index of guardian's unique_together
(user or group, permission, content_object): every grant wrote both."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sharing', '0002_user_quota'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='workflowgroupobjectpermission',
            name='wf_group_perm_lookup',
        ),
        migrations.RemoveIndex(
            model_name='workflowuserobjectpermission',
            name='wf_user_perm_lookup',
        ),
    ]
