"""System checks that catch a misconfigured deployment at start-up."""

import ipaddress

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_secret_key(app_configs, **kwargs):
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        return [
            Warning(
                "DJANGO_SECRET_KEY is not set; the built-in development key is in use.",
                hint="Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) to a long random value.",
                id="structforge.W001",
            )
        ]
    return []


@register()
def check_knobs(app_configs, **kwargs):
    errors = []
    positive = (
        "STRUCTFORGE_MAX_RUNNING",
        "STRUCTFORGE_USER_MAX_RUNNING",
        "STRUCTFORGE_VERSION_RETENTION",
        "STRUCTFORGE_MAX_NODES",
        "STRUCTFORGE_MAX_EDGES",
        "STRUCTFORGE_MAX_DEFINITION_BYTES",
        "STRUCTFORGE_WEB_THREADS",
    )
    for name in positive:
        if getattr(settings, name) < 1:
            errors.append(Error(f"{name} must be at least 1.", id="structforge.E001"))
    if settings.STRUCTFORGE_VERSION_RETENTION < 2:
        errors.append(
            Error(
                "STRUCTFORGE_VERSION_RETENTION must be at least 2 (version 1 and the newest are always kept).",
                id="structforge.E002",
            )
        )
    if settings.STRUCTFORGE_SYNC_WAIT_S <= 0:
        errors.append(Error("STRUCTFORGE_SYNC_WAIT_S must be positive.", id="structforge.E003"))
    for network in settings.STRUCTFORGE_HTTP_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"STRUCTFORGE_HTTP_ALLOWED_NETWORKS has {network!r}, which is not a CIDR network.",
                    id="structforge.E004",
                )
            )
    if settings.DATABASE_URL and not settings.REDIS_URL and not settings.DATABASE_URL.startswith("sqlite"):
        errors.append(
            Warning(
                "DATABASE_URL is set but REDIS_URL is not: executions only run in the standalone process.",
                id="structforge.W002",
            )
        )
    return errors


# --- Secret store keys ------------------------------------------------------------------------


@register(Tags.security, deploy=True)
def check_secrets_keys_derived_from_default(app_configs, **kwargs):
    if not settings.STRUCTFORGE_SECRETS_KEYS and settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY:
        return [
            Warning(
                "Workflow secrets are encrypted with a key derived from the built-in development SECRET_KEY.",
                hint=(
                    "Set STRUCTFORGE_SECRETS_KEYS to a Fernet key (Fernet.generate_key()), or at least "
                    "DJANGO_SECRET_KEY. Secrets saved under the old key must be re-saved after the change."
                ),
                id="structforge.W003",
            )
        ]
    return []


@register()
def check_secrets_keys(app_configs, **kwargs):
    errors = []
    for position, key in enumerate(settings.STRUCTFORGE_SECRETS_KEYS, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # The key itself is never echoed: it is a secret even when malformed.
            errors.append(
                Error(
                    f"STRUCTFORGE_SECRETS_KEYS has an invalid Fernet key at position {position}.",
                    hint="Each key is 32 url-safe base64-encoded bytes, as Fernet.generate_key() makes.",
                    id="structforge.E005",
                )
            )
    return errors
