"""Signals for apps above `executions` (which it must not import): sent after the change is committed."""

from django.dispatch import Signal

# Sent once an execution reached its final state. Arguments: execution_id, status, and trigger
# (None when the sender did not load the execution).
execution_finished = Signal()
