"""Signals for apps above `executions` (which it must not import): sent after the change is committed."""

from django.dispatch import Signal

# Sent once an execution reached its final state. Arguments: execution_id, status.
execution_finished = Signal()
