"""The system templates: JSON files in `system_templates/`, loaded into the database idempotently.

One file per template; its name (without `.json`) is the template's `system_key`. Loading
creates what is missing, updates names, descriptions, categories and tags in place, and adds a
new version when a file's definition or parameters changed, so workflows made from the older
version are offered the update. A template whose file was removed is left as it is.

Used by the data migration (with the migration's historical models), by
`manage.py load_system_templates` (what `make run` calls) and by the admin's "Load system
templates" action.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.db import transaction

from structforge.errors import InvalidInput
from templates_app.content import Content, check_content

SYSTEM_TEMPLATES_DIR = Path(__file__).resolve().parent / "system_templates"
FILE_KEYS = frozenset({"name", "description", "category", "tags", "parameters", "definition", "changelog"})
REQUIRED_KEYS = ("name", "description", "category", "definition")


class SystemTemplateError(ValueError):
    pass


@dataclass(frozen=True)
class SystemTemplateFile:
    key: str
    name: str
    description: str
    category: str
    tags: list[str]
    content: Content
    changelog: str


def read_system_templates(directory: Path | None = None) -> list[SystemTemplateFile]:
    """Every file of `directory` (SYSTEM_TEMPLATES_DIR by default), checked as a template is; any
    problem in any file raises, naming the file."""
    files, problems = [], []
    for path in sorted((directory or SYSTEM_TEMPLATES_DIR).glob("*.json")):
        try:
            files.append(_read(path))
        except SystemTemplateError as exc:
            problems.append(f"{path.name}: {exc}")
    if problems:
        raise SystemTemplateError("invalid system templates:\n" + "\n".join(problems))
    return files


def _read(path: Path) -> SystemTemplateFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemTemplateError(f"not readable JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SystemTemplateError("must be a JSON object")
    unknown = sorted(set(data) - FILE_KEYS)
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if unknown or missing:
        raise SystemTemplateError(f"unknown keys {unknown}, missing keys {missing}")
    try:
        content = check_content(data["definition"], data.get("parameters", []))
    except InvalidInput as exc:
        raise SystemTemplateError(json.dumps(exc.errors, ensure_ascii=False)) from exc
    return SystemTemplateFile(
        key=path.stem,
        name=data["name"],
        description=data["description"],
        category=data["category"],
        tags=[str(tag).lower() for tag in data.get("tags", [])],
        content=content,
        changelog=data.get("changelog", ""),
    )


def load_system_templates(*, apps: Any = None, directory: Path | None = None) -> dict[str, str]:
    """Load every system template file; returns what happened to each, by key: created, updated, unchanged.

    `apps` is a migration's app registry (historical models); by default, the project's.
    """
    registry = apps or global_apps
    models = (
        registry.get_model("templates_app", "Template"),
        registry.get_model("templates_app", "TemplateVersion"),
        registry.get_model("templates_app", "TemplateTag"),
    )
    return {file.key: _load(file, *models) for file in read_system_templates(directory)}


@transaction.atomic
def _load(file: SystemTemplateFile, template_model: Any, version_model: Any, tag_model: Any) -> str:
    metadata = {"name": file.name, "description": file.description, "category": file.category}
    template, created = template_model.objects.get_or_create(
        system_key=file.key,
        defaults={
            **metadata,
            "scope": "system",
            "visibility": "public",
            "definition": file.content.definition,
            "parameters": file.content.parameters,
            "version": 1,
        },
    )
    outcome = "created"
    if created:
        version_model.objects.create(
            template=template,
            number=1,
            definition=file.content.definition,
            parameters=file.content.parameters,
            changelog=file.changelog or "Shipped with StructForge",
        )
    else:
        template = template_model.objects.select_for_update().get(pk=template.pk)
        changed = [field for field, value in metadata.items() if getattr(template, field) != value]
        for field in changed:
            setattr(template, field, metadata[field])
        if template.definition != file.content.definition or template.parameters != file.content.parameters:
            template.version += 1
            template.definition, template.parameters = file.content.definition, file.content.parameters
            changed += ["version", "definition", "parameters"]
            version_model.objects.create(
                template=template,
                number=template.version,
                definition=file.content.definition,
                parameters=file.content.parameters,
                changelog=file.changelog or "Updated with StructForge",
            )
        if changed:
            template.save(update_fields=[*changed, "updated_at"])
        outcome = "updated" if changed else "unchanged"
    current = set(template.tags.values_list("name", flat=True))
    if current != set(file.tags):
        if file.tags:
            tag_model.objects.bulk_create([tag_model(name=name) for name in file.tags], ignore_conflicts=True)
        template.tags.set(tag_model.objects.filter(name__in=file.tags))
        if outcome == "unchanged":
            outcome = "updated"
    return outcome


def unload_system_templates(*, apps: Any = None) -> int:
    """Delete every system template (the migration's reverse). Workflows made from them keep their link's name."""
    registry = apps or global_apps
    deleted, _ = registry.get_model("templates_app", "Template").objects.filter(scope="system").delete()
    return deleted
