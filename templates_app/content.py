"""Checking a template's definition and parameters, and instantiating them into a workflow definition.

Pure: no database. Problems are raised as `InvalidInput`, which the API answers as a 400 naming
each field: `definition` and `parameters` (a list of `{"location", "message"}`, like a workflow's
definition problems) when a template is saved, and `params` (by parameter name) when values
given for it are wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from structforge.errors import InvalidInput
from templates_app import placeholders
from templates_app.parameters import Problem, normalize_parameters, resolve_values
from workflows.definition import DefinitionLimits, DefinitionProblem, validate_definition


@dataclass(frozen=True)
class Content:
    definition: dict[str, Any]
    parameters: list[dict[str, Any]]


def check_content(definition: Any, parameters: Any, *, limits: DefinitionLimits | None = None) -> Content:
    """A template's definition and normalized parameters, or InvalidInput listing every problem.

    The definition must be valid as a workflow definition, except that a string holding nothing
    but `{{ params.NAME }}` may stand where a literal is required (a retry count, a timeout):
    its value is checked when the template is instantiated. Node ids, node types and edges
    cannot depend on parameters. Every `params.NAME` must be declared; `secrets` may not be read
    directly (a secret parameter stands for them).
    """
    normalized, parameter_problems = normalize_parameters(parameters)
    declared = {parameter["name"] for parameter in normalized if parameter["name"]}
    definition_problems: list[Problem | DefinitionProblem] = []
    if isinstance(definition, dict):
        found = placeholders.scan(definition)
        for path, names in found.uses.items():
            if placeholders.is_structural(path):
                definition_problems.append(Problem(path, "node ids, node types and edges cannot depend on parameters"))
            definition_problems.extend(
                Problem(path, f"'{name}' is not a parameter of this template; declare it in 'parameters'")
                for name in dict.fromkeys(names)
                if name not in declared
            )
        definition_problems.extend(
            Problem(path, f'use {root}.NAME (or {root}["NAME"]) to name one {root[:-1]}')
            for path, root in found.misuses
        )
        definition_problems.extend(
            Problem(path, f"a template cannot read secrets; declare a secret parameter for '{name}'")
            for path, name in found.secrets
        )
        placeholder_paths = {path for path in found.whole if not placeholders.is_structural(path)}
        definition_problems.extend(
            problem
            for problem in validate_definition(definition, limits=limits)
            if problem.location not in placeholder_paths
        )
    else:
        definition_problems.extend(validate_definition(definition, limits=limits))
    errors = {}
    if definition_problems:
        errors["definition"] = [problem.as_dict() for problem in _in_order(definition_problems)]
    if parameter_problems:
        errors["parameters"] = [problem.as_dict() for problem in parameter_problems]
    if errors:
        raise InvalidInput(errors)
    return Content(definition=definition, parameters=normalized)


def _in_order(problems: list[Problem | DefinitionProblem]) -> list[Problem | DefinitionProblem]:
    # Deterministic output: by location, then message; duplicates (one string, two causes) once.
    unique = {(problem.location, problem.message): problem for problem in problems}
    return [unique[key] for key in sorted(unique)]


@dataclass(frozen=True)
class Instance:
    definition: dict[str, Any]
    params: dict[str, Any]  # the values used, as stored on the workflow's link


def instantiate(
    content: Content,
    given: Mapping[str, Any],
    *,
    secret_names: Collection[str] | None,
    limits: DefinitionLimits | None = None,
) -> Instance:
    """The workflow definition `content` gives with the parameter values `given`.

    Wrong values are refused as `{"params": {name: [problems]}}`. A definition the values make
    invalid (a string where a node wants a number) is refused the same way, naming the parameter
    used where the problem is; any other problem is the template's, under `definition`.
    """
    resolved, errors = resolve_values(content.parameters, given, secret_names=secret_names)
    if errors:
        raise InvalidInput({"params": errors})
    definition, used = placeholders.fill(content.definition, resolved.fill)
    problems = validate_definition(definition, limits=limits)
    if problems:
        by_parameter: dict[str, list[str]] = {}
        unexplained = []
        for problem in problems:
            names = _parameters_at(problem.location, used)
            for name in names:
                by_parameter.setdefault(name, []).append(f"{problem.location}: {problem.message}")
            if not names:
                unexplained.append(problem.as_dict())
        raise InvalidInput({**({"params": by_parameter} if by_parameter else {}), **_maybe("definition", unexplained)})
    return Instance(definition=definition, params=resolved.stored)


def _parameters_at(location: str, used: dict[str, list[str]]) -> list[str]:
    """The parameters filled in at `location` or at the nearest path above it."""
    path = location
    while path:
        if path in used:
            return list(dict.fromkeys(used[path]))
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return []


def _maybe(key: str, items: list) -> dict[str, list]:
    return {key: items} if items else {}
