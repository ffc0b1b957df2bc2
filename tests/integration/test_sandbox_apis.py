"""The sandbox APIs behave as the real services do (plain `requests`, no function code), so that
what the function is tested against is what it will meet in production: Minimo's envelope and
rate limit, the sales API's answers and its refusals in the gateway's order.

The sales API's rules are those of docs/sales-api.md, read from OpenMRP's published gateway
source (github.com/open-mrp/api; local/stand_ins/sales_sandbox.py names the files)."""

from __future__ import annotations

import pytest
import requests

from tests.integration.sandbox_requests import (
    FIND,
    VERSION,
    sales_error,
)


def test_minimo_errors_carry_its_envelope(minimo):
    error = minimo("nobody%40example.net").json()["error"]
    assert set(error) == {"code", "message", "details"}


def test_minimo_rate_limit_is_off_unless_turned_on(stack, minimo):
    assert {minimo("customer%40example.com").status_code for _ in range(30)} == {200}
    stack.minimo_control.set_rate_limit(enabled=True, limit=2)
    answers = [minimo("customer%40example.com") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["error"]["code"] == "rate_limit_exceeded"
    assert int(answers[2].headers["Retry-After"]) >= 1


def test_sales_finds_the_active_people_of_an_address(sales):
    answer = sales({"email": "SHARED@multi.example"})
    assert answer.status_code == 200
    page = answer.json()
    assert page["object"] == "list"
    # The list never paginates.
    assert page["page_info"] == {
        "next_page_url": None,
        "previous_page_url": None,
        "has_next_page": False,
        "has_prev_page": False,
    }
    ids = [m["id"] for m in page["data"]]
    assert ids == ["au_01H0007", "au_01H0008", "au_01H0009", "au_01H0010"]  # not the removed one
    assert {m["relationship"] for m in page["data"]} == {"customer", "supplier", "self"}
    for match in page["data"]:
        assert match["object"] == "contact_match"
        assert (match["account_user"], match["account"]) == (None, None)  # not asked for


def test_sales_answers_carry_version_and_rate_limit_headers(sales):
    answer = sales({"email": "customer@example.com"}, version="1.0.forge-preview.5")
    assert answer.headers["OpenMRP-Version"] == "1.0.forge-preview.5"  # the version it used
    assert answer.headers["RateLimit-Limit"] == "20"
    assert int(answer.headers["RateLimit-Remaining"]) <= 19
    assert answer.headers["Request-ID"].startswith("rq_")


def test_sales_unknown_email_is_an_empty_list(sales):
    answer = sales({"email": "nobody@example.net"})
    assert answer.status_code == 200
    assert answer.json()["data"] == []


def test_sales_includes_expand_what_they_name(sales):
    [customer] = sales({"email": "customer@example.com"}, query="include=account_user.role").json()[
        "data"
    ]
    assert customer["account_user"]["object"] == "account_user"
    assert customer["account_user"]["status"] == "active"
    assert customer["account_user"]["role"]["permissions"] == ["customers:read"]
    assert customer["account_user"]["user"] is None
    # `account` is expanded for your own account only (OpenMRP's e2e tests record this).
    query = "include=account&include=account_user.user"
    matches = sales({"email": "shared@multi.example"}, query=query).json()["data"]
    accounts = {m["relationship"]: m["account"] for m in matches}
    assert accounts["self"]["name"] == "Our Company"
    assert accounts["customer"] is accounts["supplier"] is None
    assert {m["account_user"]["user"]["email"] for m in matches} == {"shared@multi.example"}


@pytest.mark.parametrize(
    "query",
    [
        "relationships=supplier&relationships=self",
        "relationships[]=supplier&relationships[]=self",
        "relationships=supplier,self",
        "relationships[]=supplier&relationships=self",
    ],
)
def test_sales_accepts_the_three_array_forms(sales, query):
    answer = sales({"email": "shared@multi.example"}, query=query)
    assert answer.status_code == 200, answer.text
    assert sorted(m["relationship"] for m in answer.json()["data"]) == ["self", "supplier"]


def test_sales_refuses_a_request_without_a_version(sales):
    answer = sales({"email": "customer@example.com"}, version=None)
    assert sales_error(answer) == (400, "api_version_required", None)
    assert "OpenMRP-Version header is required" in answer.json()["error"]["message"]
    assert answer.json()["error"]["is_transient"] is False


def test_sales_refuses_an_unknown_version_and_names_the_supported_ones(sales):
    answer = sales({"email": "customer@example.com"}, version="2024-01-01")
    assert sales_error(answer) == (400, "api_version_invalid", None)
    assert "1.0.forge-preview.8" in answer.json()["error"]["message"]
    for n in range(1, 9):
        version = f"1.0.forge-preview.{n}"
        assert sales({"email": "customer@example.com"}, version=version).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        # What the function used to send: filters in the body.
        ({"email": "a@x.io", "include": ["account_user"]}, 400, "parameter_unknown", "include"),
        (
            {"email": "a@x.io", "relationships": ["customer"]},
            400,
            "parameter_unknown",
            "relationships",
        ),
        ({}, 400, "missing_field", "email"),
        ({"email": ""}, 400, "missing_field", "email"),
        ({"email": "nope"}, 400, "invalid_format", "email"),
        ({"email": 1}, 400, "invalid_format", "email"),
        (["customer@example.com"], 400, "validation_failed", None),
    ],
)
def test_sales_refuses_bodies_it_does_not_know(sales, body, status, code, param):
    assert sales_error(sales(body)) == (status, code, param)


def test_sales_refuses_a_body_that_is_not_json(sales):
    answer = sales(data=b"email=customer@example.com")
    assert sales_error(answer) == (400, "validation_failed", None)
    assert sales_error(sales(data=b"")) == (400, "missing_field", "email")  # nothing decoded
    assert sales_error(sales(data=b'{"email": "a@x.io"} {}')) == (400, "validation_failed", None)


def test_an_unknown_body_field_gets_a_hint():
    from local.stand_ins.sales_requests import decode_body
    from local.stand_ins.sandbox_messages import ApiRequest

    refused = decode_body(ApiRequest("POST", FIND, {}, b'{"emial": "a@x.io"}'))
    assert "Did you mean 'email'?" in refused.body["error"]["message"]


@pytest.mark.parametrize(
    ("query", "code", "param"),
    [
        ("cursor=2", "parameter_unknown", "cursor"),  # no pagination: no cursor either
        ("email=a@x.io", "parameter_unknown", "email"),
        ("include=account_users", "parameter_invalid", "include[]"),
        ("include[]=account,role", "parameter_invalid", "include[]"),
        ("relationships=partner", "parameter_invalid", "relationships"),
        (
            "relationships=customer,supplier&relationships=self",
            "parameter_invalid",
            "relationships",
        ),
    ],
)
def test_sales_refuses_query_parameters_it_does_not_know(sales, query, code, param):
    assert sales_error(sales({"email": "customer@example.com"}, query=query)) == (400, code, param)


@pytest.mark.parametrize(
    ("key", "version", "status", "code"),
    [
        ("", None, 400, "api_version_required"),  # no key: anonymous, the version comes first
        ("", VERSION, 401, "invalid_credentials"),  # ...then the endpoint wants a caller
        ("wrong", None, 401, "invalid_credentials"),  # a wrong key: refused before the version
        ("forbidden_api_key", VERSION, 403, "insufficient_permissions"),
    ],
)
def test_sales_checks_in_the_gateways_order(stack, sales, key, version, status, code):
    answer = sales(
        {"email": "customer@example.com"}, key=stack.data["sales"].get(key, key), version=version
    )
    assert sales_error(answer)[:2] == (status, code)
    if status == 401:
        assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_routes_are_answered_before_any_check(sales):
    missing = sales({"email": "a@x.io"}, path="/v1/sales/contacts/find", version=None, key="")
    assert sales_error(missing)[:2] == (404, "resource_not_found")
    assert "RateLimit-Limit" not in missing.headers
    wrong_method = requests.get(missing.url.replace("/find", "/actions/find-by-email"), timeout=5)
    assert sales_error(wrong_method)[:2] == (405, "method_not_allowed")
