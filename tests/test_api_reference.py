"""API_REFERENCE.md stays true: it documents exactly the routes and endpoints the running app serves.

The app under test is the real `python app.py` (the session's `running_app`); no model is called. REST
routes come from the app's own OpenAPI document, Gradio endpoints from `gradio_client`'s `view_api`.
The reference's headings are the contract: `### GET /api/health` for a REST route (its section must name
every query, form and body field the route takes, in backticks) and `### /chat(chat_id, message)` for a
Gradio endpoint (its parameters in order, as `view_api` lists them).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

REFERENCE = Path(__file__).resolve().parent.parent / "API_REFERENCE.md"
REST_HEADING = re.compile(r"^### (GET|POST|PUT|PATCH|DELETE) (/\S+)\s*$", re.MULTILINE)
GRADIO_HEADING = re.compile(r"^### (/\w+)\((.*)\)\s*$", re.MULTILINE)
METHODS = ("get", "post", "put", "patch", "delete")


def sections(text: str, heading: re.Pattern) -> dict[tuple[str, str], str]:
    """Each heading's groups → the text up to the next heading of any level-2 or level-3 section."""
    found = {}
    for match in heading.finditer(text):
        end = re.compile(r"^##", re.MULTILINE).search(text, match.end())
        found[match.groups()] = text[match.end():end.start() if end else len(text)]
    return found


def documented_rest(text: str) -> dict[tuple[str, str], str]:
    return sections(text, REST_HEADING)


def documented_gradio(text: str) -> dict[str, list[str]]:
    return {name: [p.strip() for p in params.split(",") if p.strip()]
            for (name, params), _ in sections(text, GRADIO_HEADING).items()}


def served_rest(spec: dict) -> dict[tuple[str, str], set[str]]:
    """(METHOD, path) → the names of the fields it takes: query parameters and body (JSON or form) fields."""
    routes = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                for media in operation.get("requestBody", {}).get("content", {}).values():
                    names |= set(_schema(spec, media["schema"]).get("properties", {}))
                routes[(method.upper(), path)] = names
    return routes


def _schema(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return next((_schema(spec, s) for s in schema.get("anyOf", []) if "$ref" in s), schema)


def served_gradio(url: str) -> dict[str, list[str]]:
    from gradio_client import Client

    client = Client(url + "/", verbose=False, analytics_enabled=False)
    info = client.view_api(return_format="dict", print_info=False)
    assert not info["unnamed_endpoints"], f"Endpoints without a name: {list(info['unnamed_endpoints'])}"
    return {name: [p["parameter_name"] for p in endpoint["parameters"]]
            for name, endpoint in info["named_endpoints"].items()}


@pytest.fixture(scope="module")
def reference() -> str:
    return REFERENCE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def served(running_app) -> tuple[dict, dict]:
    url, _ = running_app
    return served_rest(httpx.get(url + "/api/openapi.json").json()), served_gradio(url)


def test_every_rest_route_is_documented_and_every_documented_route_is_served(reference, served):
    documented, rest = set(documented_rest(reference)), set(served[0])
    assert len(rest) >= 30, "the app's OpenAPI document lists the REST routes"
    assert not rest - documented, f"Served but not in API_REFERENCE.md: {sorted(rest - documented)}"
    assert not documented - rest, f"In API_REFERENCE.md but not served: {sorted(documented - rest)}"


def test_each_rest_section_names_every_field_its_route_takes(reference, served):
    documented = documented_rest(reference)
    missing = {route: sorted(name for name in fields if f"`{name}`" not in documented.get(route, ""))
               for route, fields in served[0].items()}
    missing = {route: names for route, names in missing.items() if names}
    assert not missing, f"Fields a route takes that its section does not name: {missing}"


def test_every_gradio_endpoint_is_documented_with_its_parameters(reference, served):
    documented, gradio = documented_gradio(reference), served[1]
    assert len(gradio) >= 10, "view_api lists the named endpoints"
    assert not set(gradio) - set(documented), f"Served but not documented: {sorted(set(gradio) - set(documented))}"
    assert not set(documented) - set(gradio), f"Documented but not served: {sorted(set(documented) - set(gradio))}"
    wrong = {name: (documented[name], params) for name, params in gradio.items() if documented[name] != params}
    assert not wrong, f"Parameters differ (documented, served): {wrong}"


def test_the_parsers_see_what_a_reader_sees():
    """The headings the test reads are the ones written: a typo'd heading would silently drop a route."""
    text = ("## REST\n### GET /api/a\nTakes `q`.\n### POST /api/b/{id}\n## Gradio\n### /chat(chat_id, message)\n"
            "x\n### /profiles()\n")
    assert documented_rest(text) == {("GET", "/api/a"): "\nTakes `q`.\n", ("POST", "/api/b/{id}"): "\n"}
    assert documented_gradio(text) == {"/chat": ["chat_id", "message"], "/profiles": []}
    stray = [line for line in REFERENCE.read_text(encoding="utf-8").splitlines()
             if line.startswith("### ") and not (REST_HEADING.match(line) or GRADIO_HEADING.match(line))]
    assert not stray, f"Level-3 headings that are neither a route nor an endpoint: {stray}"
