"""docs/openapi.yaml is valid OpenAPI 3.1 and says what the application does.

The routes are read from the application itself (``create_app`` connects to nothing until it
starts), the error codes from the error tree, and the JSON bodies from the dict literals the
handlers answer with.
"""

import ast
from collections.abc import Hashable, Mapping
from typing import Any, cast

import pytest
import yaml
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from ingest.app import create_app
from ingest.settings import Settings
from tests.docs import code_facts
from tests.docs.markdown import DOCS, REPO_ROOT

OPENAPI = DOCS / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(OPENAPI.read_text("utf-8"))
    return doc


def document_routes(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def app_routes() -> set[tuple[str, str]]:
    app = create_app(Settings())
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
    }


def answered_bodies() -> list[dict[str, Any]]:
    """The dict literals the ingress answers with: ``web.json_response({...})`` in ingest/."""
    bodies = []
    for path in sorted((REPO_ROOT / "ingest").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "json_response"
                and node.args
                and isinstance(node.args[0], ast.Dict)
            ):
                body: dict[str, Any] = {}
                for key, value in zip(node.args[0].keys, node.args[0].values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        body[key.value] = value.value if isinstance(value, ast.Constant) else None
                bodies.append(body)
    return bodies


def validate_spec(doc: dict[str, Any]) -> None:
    # The validator is typed for any mapping with hashable keys; a YAML document is one.
    validate(cast(Mapping[Hashable, Any], doc), cls=OpenAPIV31SpecValidator)


def schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"][name]
    return found


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = load()
    assert doc["openapi"].startswith("3.1")
    validate_spec(doc)


def test_the_validator_refuses_a_broken_document() -> None:
    # Proves the validation above can fail: the same document with a response that lacks
    # its required description.
    doc = load()
    del doc["paths"]["/metrics"]["get"]["responses"]["200"]["description"]
    with pytest.raises(Exception, match="description"):
        validate_spec(doc)


def test_the_routes_are_the_applications() -> None:
    routes = app_routes()
    assert ("POST", "/v1/lead-activity") in routes
    assert document_routes(load()) == routes


def test_the_error_codes_are_the_codes_of_the_error_tree() -> None:
    enum = set(schema(load(), "Error")["properties"]["error"]["enum"])
    assert enum == code_facts.error_codes()


def test_the_bodies_match_what_the_handlers_answer() -> None:
    doc = load()
    bodies = answered_bodies()
    assert bodies, "no web.json_response({...}) found in ingest/"
    for name, marker in (("Accepted", "accepted"), ("Error", "error"), ("Status", "status")):
        written = [b for b in bodies if marker in b]
        assert written, f"no answer with {marker!r} found in ingest/"
        properties = set(schema(doc, name)["properties"])
        for body in written:
            assert set(body) <= properties, f"{name} lacks {sorted(set(body) - properties)}"
        required = set(schema(doc, name)["required"])
        assert all(required <= set(b) for b in written), f"{name} requires more than is sent"
    statuses = {b["status"] for b in bodies if isinstance(b.get("status"), str)}
    assert statuses == set(schema(doc, "Status")["properties"]["status"]["enum"])
