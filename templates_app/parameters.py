"""A template's parameters: their declarations, and the values given for them at instantiation.

Pure: plain data in and out, no database. A declaration is
`{"name", "type", "label", "default", "required", "description"}`; `normalize_parameters` fills
the optional keys in, so stored declarations always have all six.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from workflows.models import SECRET_NAME_PATTERN

PARAMETER_TYPES = ("string", "number", "integer", "boolean", "url", "email", "secret", "object", "list")
# The same shape as a secret's name: a secret turned into a parameter keeps its name, and the
# expression language refuses names that start with "_".
PARAMETER_NAME = re.compile(SECRET_NAME_PATTERN)
PARAMETER_KEYS = ("name", "type", "label", "default", "required", "description")
MAX_PARAMETERS = 50
MAX_LABEL = 200
MAX_DESCRIPTION = 2000
MAX_URL = 8192

_EXPECTED = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "url": "an http:// or https:// URL",
    "email": "an e-mail address",
    "secret": "the name of one of your secrets",
    "object": "an object",
    "list": "a list",
}


@dataclass(frozen=True)
class Problem:
    location: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}


@dataclass(frozen=True)
class SecretName:
    """The value of a `secret` parameter: the name of a secret of the workflow's owner, read at run time."""

    name: str


# --- Declarations ------------------------------------------------------------------------------


def normalize_parameters(raw: Any) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The declarations with every key filled in, and every problem found (location `parameters[i].key`)."""
    if not isinstance(raw, list):
        return [], [Problem("parameters", "must be a list")]
    if len(raw) > MAX_PARAMETERS:
        return [], [Problem("parameters", f"too many parameters: {len(raw)}; the limit is {MAX_PARAMETERS}")]
    normalized, problems, first_index = [], [], {}
    for index, item in enumerate(raw):
        at = f"parameters[{index}]"
        if not isinstance(item, dict):
            problems.append(Problem(at, "a parameter must be an object with at least 'name' and 'type'"))
            continue
        problems.extend(
            Problem(f"{at}.{key}", f"unknown field '{key}'; allowed: {', '.join(PARAMETER_KEYS)}")
            for key in item
            if key not in PARAMETER_KEYS
        )
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not PARAMETER_NAME.fullmatch(name):
            problems.append(Problem(f"{at}.name", "must be a letter, then letters, digits or _, at most 64 characters"))
            name = None
        elif name in first_index:
            problems.append(
                Problem(f"{at}.name", f"duplicate parameter '{name}'; first at parameters[{first_index[name]}]")
            )
        else:
            first_index[name] = index
        if kind not in PARAMETER_TYPES:
            problems.append(Problem(f"{at}.type", f"must be one of {', '.join(PARAMETER_TYPES)}"))
            kind = None
        label = item.get("label") or (name.replace("_", " ").capitalize() if name else "")
        if not isinstance(label, str) or len(label) > MAX_LABEL:
            problems.append(Problem(f"{at}.label", f"must be a string of at most {MAX_LABEL} characters"))
        description = item.get("description") or ""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            problems.append(Problem(f"{at}.description", f"must be a string of at most {MAX_DESCRIPTION} characters"))
        required = item.get("required", True)
        if not isinstance(required, bool):
            problems.append(Problem(f"{at}.required", "must be true or false"))
        default = item.get("default")
        if default is not None and kind is not None:
            default, message = check_value(kind, default)
            if message is not None:
                problems.append(Problem(f"{at}.default", message))
        normalized.append(
            {
                "name": name,
                "type": kind,
                "label": label,
                "default": default,
                "required": required,
                "description": description,
            }
        )
    return normalized, problems


def check_value(kind: str, value: Any) -> tuple[Any, str | None]:
    """`value` as a value of type `kind` (an integral 3.0 becomes 3), or the reason it is not one."""
    ok = False
    if kind in ("string", "url", "email", "secret"):
        ok = isinstance(value, str)
        if ok and kind == "url":
            ok = _is_url(value)
        elif ok and kind == "email":
            ok = _is_email(value)
        elif ok and kind == "secret":
            ok = PARAMETER_NAME.fullmatch(value) is not None
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    elif kind == "integer":
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "object":
        ok = isinstance(value, dict)
    elif kind == "list":
        ok = isinstance(value, list)
    return (value, None) if ok else (value, f"Must be {_EXPECTED[kind]}.")


def _is_url(value: str) -> bool:
    if len(value) > MAX_URL or any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a malformed IPv6 host or port
        return False


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


# --- Values --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """What instantiation fills the placeholders with, and what the link stores to do it again."""

    fill: dict[str, Any]  # name → the value, or a SecretName
    stored: dict[str, Any]  # name → the plain JSON value (a secret's name for a secret parameter)


def resolve_values(
    parameters: list[dict[str, Any]], given: Mapping[str, Any], *, secret_names: Collection[str] | None
) -> tuple[Resolved, dict[str, list[str]]]:
    """Check `given` against the declarations; a missing value takes the default.

    `secret_names` are the names of the secrets of the user the workflow will belong to: a
    secret parameter must name one of them (None: not checked, for previews). Returns the values
    and the problems by parameter name.
    """
    declared = {parameter["name"]: parameter for parameter in parameters}
    errors: dict[str, list[str]] = {}
    for name in given:
        if name not in declared:
            known = ", ".join(declared) if declared else "none"
            errors[name] = [f"Unknown parameter; this template's parameters are: {known}."]
    fill, stored = {}, {}
    for name, parameter in declared.items():
        value = given.get(name)
        if value is None:
            value = parameter["default"]
        if value is None:
            if parameter["required"]:
                errors[name] = ["This parameter is required."]
            fill[name] = stored[name] = None
            continue
        value, message = check_value(parameter["type"], value)
        if message is None and parameter["type"] == "secret" and secret_names is not None and value not in secret_names:
            message = f"The workflow's owner has no secret named '{value}'."
        if message is not None:
            errors[name] = [message]
            continue
        stored[name] = value
        fill[name] = SecretName(value) if parameter["type"] == "secret" else value
    return Resolved(fill=fill, stored=stored), errors
