from django.apps import AppConfig


class StructforgeConfig(AppConfig):
    name = "structforge"
    verbose_name = "StructForge"

    def ready(self) -> None:
        from structforge import checks  # noqa: F401  (registers the system checks)
