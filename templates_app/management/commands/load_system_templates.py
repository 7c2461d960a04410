from django.core.management.base import BaseCommand, CommandError

from templates_app.system import SystemTemplateError, load_system_templates

OUTCOMES = ("created", "updated", "unchanged")


class Command(BaseCommand):
    help = "Load the system templates from templates_app/system_templates/ (idempotent; a changed file adds a version)."

    def handle(self, *args, **options):
        try:
            outcomes = load_system_templates()
        except SystemTemplateError as exc:
            raise CommandError(str(exc)) from exc
        for key, outcome in sorted(outcomes.items()):
            if outcome != "unchanged":
                self.stdout.write(f"  {outcome}: {key}", self.style.SUCCESS)
        tally = {outcome: list(outcomes.values()).count(outcome) for outcome in OUTCOMES}
        counts = ", ".join(f"{count} {outcome}" for outcome, count in tally.items())
        self.stdout.write(f"System templates: {counts}.")
