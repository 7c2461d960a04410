"""Create the first admin account once: from DJANGO_SUPERUSER_* if given, otherwise generated and printed."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an admin account unless one exists (honours DJANGO_SUPERUSER_USERNAME/_PASSWORD/_EMAIL)."

    def handle(self, *args, **options) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists already.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        email = os.environ.get("DJANGO_SUPERUSER_EMAIL") or f"{username}@localhost"
        given_password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        password = given_password or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email=email, password=password)
        if given_password:
            self.stdout.write(self.style.SUCCESS(f"Created admin {username!r} with the password from the environment."))
        else:
            # Printed this once only: it is not stored anywhere in clear.
            self.stdout.write(self.style.SUCCESS(f"Created admin {username!r} with password {password!r}."))
