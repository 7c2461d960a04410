from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from executions.signals import execution_finished
        from scheduling import checks  # noqa: F401  (registers the system checks)
        from scheduling.receivers import on_execution_finished

        execution_finished.connect(on_execution_finished, dispatch_uid="scheduling.on_execution_finished")
