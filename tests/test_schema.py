"""The OpenAPI schema (`/api/v1/schema/`) is complete, valid and generated without warnings."""

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

# Every path of DESIGN.md section 5 that exists so far, with its verbs.
DESIGNED_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/auth/logout/": {"post"},
    "/api/v1/folders/": {"get", "post"},
    "/api/v1/folders/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/tags/": {"get", "post"},
    "/api/v1/tags/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/workflows/": {"get", "post"},
    "/api/v1/workflows/{id}/": {"get", "put", "patch", "delete"},
    "/api/v1/workflows/{id}/versions/": {"get"},
    "/api/v1/workflows/{id}/versions/{number}/": {"get"},
    "/api/v1/workflows/{id}/versions/{number}/rollback/": {"post"},
    "/api/v1/workflows/{id}/versions/{number}/publish/": {"post"},
    "/api/v1/workflows/{id}/diff/": {"get"},
}
HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}


@pytest.fixture(scope="module")
def schema():
    GENERATOR_STATS.reset()
    generated = SchemaGenerator().get_schema(request=None, public=True)
    warnings, errors = dict(GENERATOR_STATS._warn_cache), dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    return {"schema": generated, "warnings": warnings, "errors": errors}


def parameters(operation: dict) -> dict[str, dict]:
    return {parameter["name"]: parameter for parameter in operation.get("parameters", [])}


def component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def test_the_schema_generates_without_warnings_or_errors(schema):
    assert schema["warnings"] == {}
    assert schema["errors"] == {}


def test_the_schema_is_valid_openapi(schema):
    validate_schema(schema["schema"])  # raises on any violation of the OpenAPI 3 meta-schema


@pytest.mark.parametrize(("path", "verbs"), sorted(DESIGNED_PATHS.items()))
def test_every_designed_path_is_in_the_schema_with_its_verbs(schema, path, verbs):
    paths = schema["schema"]["paths"]

    assert path in paths
    assert set(paths[path]) & HTTP_VERBS == verbs


def test_the_workflow_list_documents_its_filters_and_pagination(schema):
    operation = schema["schema"]["paths"]["/api/v1/workflows/"]["get"]

    assert set(parameters(operation)) == {
        "folder",
        "include_subfolders",
        "tag",
        "search",
        "shared",
        "role",
        "page",
        "page_size",
    }
    assert parameters(operation)["role"]["schema"]["enum"] == ["editor", "executor", "owner", "viewer"]
    page = component(schema["schema"], operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert set(page["properties"]) == {"count", "next", "previous", "results"}


def test_the_workflow_answer_documents_exactly_the_designed_fields(schema):
    operation = schema["schema"]["paths"]["/api/v1/workflows/{id}/"]["get"]
    workflow = component(
        schema["schema"], operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )

    assert set(workflow["properties"]) == {
        "id",
        "name",
        "description",
        "folder",
        "tags",
        "definition",
        "max_concurrency",
        "on_limit",
        "version",
        "published_version",
        "owner",
        "role",
        "created_at",
        "updated_at",
    }


def test_the_workflow_body_documents_folder_and_tags_as_ids(schema):
    operation = schema["schema"]["paths"]["/api/v1/workflows/"]["post"]
    body = component(schema["schema"], operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])

    assert body["properties"]["folder"] == {"type": "integer", "nullable": True}
    assert body["properties"]["tags"] == {"type": "array", "items": {"type": "integer"}}
    assert body["required"] == ["name"]


def test_the_diff_documents_from_and_to_as_required_integers(schema):
    operation = schema["schema"]["paths"]["/api/v1/workflows/{id}/diff/"]["get"]
    query = {name: p for name, p in parameters(operation).items() if p["in"] == "query"}

    assert {name: (p["required"], p["schema"]["type"]) for name, p in query.items()} == {
        "from": (True, "integer"),
        "to": (True, "integer"),
    }
    diff = component(schema["schema"], operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert set(diff["properties"]) == {"nodes", "edges", "settings"}


def test_the_version_list_is_documented_as_paginated(schema):
    operation = schema["schema"]["paths"]["/api/v1/workflows/{id}/versions/"]["get"]
    page = component(schema["schema"], operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])

    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    version = component(schema["schema"], page["properties"]["results"]["items"]["$ref"])
    assert set(version["properties"]) == {"number", "changelog", "created_by", "created_at", "is_published"}


def test_rollback_is_documented_as_201_with_the_new_version(schema):
    operation = schema["schema"]["paths"]["/api/v1/workflows/{id}/versions/{number}/rollback/"]["post"]

    assert set(operation["responses"]) == {"201"}
    assert "requestBody" not in operation


def test_deleting_a_folder_documents_move_content(schema):
    operation = schema["schema"]["paths"]["/api/v1/folders/{id}/"]["delete"]

    assert parameters(operation)["move_content"]["schema"] == {"type": "boolean", "default": False}


def test_the_token_login_documents_its_answer_and_needs_no_credentials(schema):
    operation = schema["schema"]["paths"]["/api/v1/auth/token/"]["post"]
    answer = component(schema["schema"], operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])

    assert set(answer["properties"]) == {"token", "expiry"}
    assert operation["security"] == [{}]


def test_the_schema_endpoint_answers_200_without_credentials(api_client, db):
    response = api_client.get("/api/v1/schema/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi; charset=utf-8"
    assert b"/api/v1/workflows/{id}/diff/:" in response.content


def test_the_schema_endpoint_answers_json_on_request(api_client, db):
    response = api_client.get("/api/v1/schema/", {"format": "json"})

    assert response.status_code == 200
    body = response.json()
    assert body["info"]["title"] == "StructForge API"
    assert set(DESIGNED_PATHS) <= set(body["paths"])


def test_the_docs_page_answers_200(api_client, db):
    response = api_client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
