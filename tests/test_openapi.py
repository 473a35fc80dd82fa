"""The OpenAPI schema says what is true, and its interactive docs work without internet."""
import re

import pytest


@pytest.fixture(scope="module")
def schema():
    from orchestra_site.api import api

    return api.get_openapi_schema()


def prop(schema, component, name):
    value = schema["components"]["schemas"][component]["properties"][name]
    return next((v for v in value.get("anyOf", [value]) if v.get("type") != "null"), value)


@pytest.mark.parametrize(("component", "name", "values"), [
    ("ProposalOut", "status", {"pending", "approved", "rejected", "edited_and_approved", "answered", "expired",
                               "refused", "superseded"}),
    ("ProposalOut", "risk", {"low", "medium", "high", "critical"}),
    ("ProposalOut", "level", {"agent", "domain", "enterprise"}),
    ("ProposalOut", "classification", {"public", "internal", "sensitive"}),
    ("DecisionOut", "verdict", {"approve", "reject", "edit", "answer", "expire", "refuse", "supersede"}),
    ("DecisionIn", "verdict", {"approve", "reject", "edit", "answer"}),
    ("ProposalIn", "risk", {"low", "medium", "high", "critical"}),
    ("EvaluationOut", "level", {"agent", "domain", "enterprise"}),
])
def test_enums_are_enums(schema, component, name, values):
    assert set(prop(schema, component, name)["enum"]) == values


def test_the_status_filters_are_enums(schema):
    for path in ("/api/v1/proposals", "/api/v1/inbox/proposals"):
        param = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == "status")
        enum = next(v for v in param["schema"].get("anyOf", [param["schema"]]) if "enum" in v)["enum"]
        assert "pending" in enum and "superseded" in enum


def test_money_and_timestamps_are_typed_strings(schema):
    assert prop(schema, "ProposalOut", "cost_usd")["type"] == "string"
    assert re.match(prop(schema, "ProposalOut", "cost_usd")["pattern"], "0.40")
    created = prop(schema, "ProposalOut", "created_at")
    assert created["format"] == "date-time" and re.match(created["pattern"], "2026-11-03T10:15:30.123456Z")


def test_429_is_declared_with_retry_after_on_submission(schema):
    answer = schema["paths"]["/api/v1/proposals"]["post"]["responses"][429]
    assert "Retry-After" in answer["headers"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_error_bodies_are_typed(schema):
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            for status in (401, 422):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ValidationErrorOut" if status == 422 else "/ErrorOut"), (method, path)
    error = schema["components"]["schemas"]["ErrorOut"]
    assert {"detail", "code"} <= set(error["required"])
    assert "field" in schema["components"]["schemas"]["ValidationErrorOut"]["required"]


def test_input_schemas_refuse_unknown_fields(schema):
    for name in ("ProposalIn", "DecisionIn", "EscalationIn", "DryRunIn", "ReasonIn", "PolicyPatch"):
        assert schema["components"]["schemas"][name]["additionalProperties"] is False, name


def test_the_api_docs_load_nothing_from_another_host(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
