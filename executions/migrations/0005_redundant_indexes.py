"""Drop the foreign keys' own indexes where a composite index already leads with the same column.

Each status change of a run writes a new entry into every index of its row, so each redundant
index cost every run a few index insertions. Only the indexes go: the constraints stay as they
are (Django's AlterField would drop and re-add them, validating every row of a large table).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (Django's name for the index, the same on every backend; its table; its column)
REDUNDANT_INDEXES = [
    ("executions_dailyusage_owner_id_b0a8df68", "executions_dailyusage", "owner_id"),  # unique (owner, day)
    ("executions_execution_owner_id_9eb96b83", "executions_execution", "owner_id"),  # execution_owner_created
    ("executions_execution_workflow_id_0c141a15", "executions_execution", "workflow_id"),  # execution_workflow_created
    ("executions_noderun_execution_id_5ac7429c", "executions_noderun", "execution_id"),  # node_run_unique_node
]


class Migration(migrations.Migration):
    dependencies = [
        ("executions", "0004_daily_usage"),
        ("workflows", "0004_workflow_on_limit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")'
                )
                for name, table, column in REDUNDANT_INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="dailyusage",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="execution",
                    name="owner",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="execution",
                    name="workflow",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="executions",
                        to="workflows.workflow",
                    ),
                ),
                migrations.AlterField(
                    model_name="noderun",
                    name="execution",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="node_runs",
                        to="executions.execution",
                    ),
                ),
            ],
        )
    ]
