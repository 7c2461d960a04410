from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing and access"

    def ready(self) -> None:
        from sharing import schema  # noqa: F401  (registers the schema extension)
