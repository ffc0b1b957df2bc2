"""Both APIs' answers, retries and failures, seen from the sandboxes' request logs."""

from __future__ import annotations

import json
import time

import pytest

from local.stand_ins.lambda_events import http_api_event
from tests import signing
from tests.conftest import wait_for_requests
from tests.handler_results import enrich


def test_found_in_both(stack, invoke):
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "enriched"
    assert (enrichment["contact_id"], enrichment["relationship"]) == (42, "customer")
    assert enrichment["minimo"]["status"] == enrichment["sales"]["status"] == "found"
    [match] = enrichment["sales"]["matches"]
    # OpenMRP expands `account` for your own account only: a customer's comes back null.
    assert match == {
        "id": "au_01H0001",
        "relationship": "customer",
        "account_id": None,
        "account_name": None,
        "account_user_status": "active",
    }


def test_your_own_account_is_named(stack, invoke):
    enrichment = enrich(invoke, stack, "admin@our-company.example")
    [match] = enrichment["sales"]["matches"]
    assert (match["relationship"], match["account_id"], match["account_name"]) == (
        "self",
        "acc_01HOURS",
        "Our Company",
    )


def test_neither_knows_the_address(stack, invoke):
    enrichment = enrich(invoke, stack, "nobody@example.net")
    assert enrichment["status"] == "not_found"
    assert enrichment["minimo"] == {"status": "not_found", "contact": None, "error": None}
    assert enrichment["sales"] == {"status": "not_found", "matches": [], "error": None}


def test_soft_deleted_minimo_contact_is_not_found(stack, invoke):
    enrichment = enrich(invoke, stack, "former@example.com")
    assert enrichment["minimo"]["status"] == "not_found"
    assert enrichment["contact_id"] is None


def test_every_page_of_sales_matches_is_collected(stack, invoke):
    """The endpoint does not paginate today; if it starts to, every page is followed."""
    stack.sales.set_page_size(2)
    enrichment = enrich(invoke, stack, "shared@multi.example")
    matches = enrichment["sales"]["matches"]
    assert len(matches) == 4  # the active people; the removed one is never returned
    assert enrichment["relationship"] == "self"  # self beats customer and supplier by default
    pages = stack.sales.requests()
    assert [p["page"] for p in pages] == [1, 2]
    first, second = (p["path"] for p in pages)
    assert first == "/v1/sales/contacts/actions/find-by-email?include=account&include=account_user"
    assert second == first + "&cursor=2"  # the page link, followed as given
    assert all(p["body"] == {"email": "shared@multi.example"} for p in pages)
    assert len({p["headers"]["idempotency-key"] for p in pages}) == 2  # a key per request


def test_page_links_are_bounded(stack, invoke):
    stack.sales.set_page_size(1)
    stack.sales.add_faults(
        [{"body": _page_linking_to_itself(), "status": 200}] * 20, email="shared@multi.example"
    )
    enrichment = enrich(invoke, stack, "shared@multi.example")
    assert enrichment["sales"]["status"] == "found"
    assert len(stack.sales.requests()) == 10  # MAX_PAGES


def _page_linking_to_itself() -> dict:
    return {
        "object": "list",
        "page_info": {"next_page_url": "/v1/sales/contacts/actions/find-by-email?cursor=0"},
        "data": [{"id": "au_loop", "object": "contact_match", "relationship": "customer"}],
    }


def test_relationship_precedence_and_filter_are_configurable(stack, invoke, function_env):
    function_env(RELATIONSHIP_PRECEDENCE="supplier,customer,self")
    assert enrich(invoke, stack, "shared@multi.example")["relationship"] == "supplier"

    function_env(SALES_RELATIONSHIPS="customer,self")
    enrichment = enrich(invoke, stack, "shared@multi.example")
    assert {m["relationship"] for m in enrichment["sales"]["matches"]} == {"customer", "self"}
    request = stack.sales.requests()[-1]
    assert request["path"].endswith(
        "?relationships=customer&relationships=self&include=account&include=account_user"
    )
    assert request["body"] == {"email": "shared@multi.example"}


def test_the_sales_request_is_what_openmrp_wants(stack, invoke):
    enrich(invoke, stack, "customer@example.com")
    [request] = stack.sales.requests()
    assert request["method"] == "POST"
    assert request["status"] == 200
    # The body is {"email"} alone; filters and expansions are query parameters.
    assert request["body"] == {"email": "customer@example.com"}
    assert request["path"].endswith("?include=account&include=account_user")
    headers = request["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["openmrp-version"] == "1.0.forge-preview.8"
    assert "openmrp-account" not in headers
    assert 0 < len(headers["idempotency-key"]) <= 255
    assert request["authorized"] is True


def test_the_version_and_account_headers_are_configurable(stack, invoke, function_env):
    function_env(SALES_API_VERSION="1.0.forge-preview.5", SALES_API_ACCOUNT="acct_01HOTHER")
    enrich(invoke, stack, "customer@example.com")
    [request] = stack.sales.requests()
    assert request["headers"]["openmrp-version"] == "1.0.forge-preview.5"
    assert request["headers"]["openmrp-account"] == "acct_01HOTHER"


@pytest.mark.parametrize(
    ("email", "encoded"),
    [
        ("a+b@example.com", "a%2Bb%40example.com"),
        ("a/b@example.com", "a%2Fb%40example.com"),
        ("a?b@example.com", "a%3Fb%40example.com"),
        ("a#b@example.com", "a%23b%40example.com"),
        ("a%b@example.com", "a%25b%40example.com"),
        ("o'brien@example.ie", "o'brien%40example.ie"),
    ],
)
def test_minimo_path_keeps_its_shape_whatever_the_address(stack, invoke, email, encoded):
    enrichment = enrich(invoke, stack, email)
    [request] = stack.minimo.requests()
    assert request["path"] == f"/public/v1/contacts/by-email/{encoded}"
    assert request["email"] == email
    assert request["status"] in (200, 404)  # never route_not_found
    assert enrichment["minimo"]["status"] in ("found", "not_found")


def test_both_lookups_run_at_the_same_time(stack, invoke):
    stack.minimo.set_latency(0.2)
    stack.sales.set_latency(0.2)
    enrich(invoke, stack, "customer@example.com")
    [minimo] = stack.minimo.requests()
    [sales] = stack.sales.requests()
    # Each API received its request before the other one answered: they overlapped.
    assert minimo["received_at"] < sales["answered_at"]
    assert sales["received_at"] < minimo["answered_at"]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_transient_failures_are_retried(stack, invoke, status):
    stack.minimo.add_faults([{"status": status}], email="customer@example.com")
    stack.sales.add_faults([{"status": status}, {"status": status}], email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "enriched"
    assert [r["status"] for r in stack.minimo.requests()] == [status, 200]
    assert [r["status"] for r in stack.sales.requests()] == [status, status, 200]


def test_a_retried_sales_request_keeps_its_idempotency_key(stack, invoke):
    stack.sales.add_faults([{"status": 503}, {"reset": True}], email="customer@example.com")
    enrich(invoke, stack, "customer@example.com")
    keys = [r["headers"]["idempotency-key"] for r in stack.sales.requests()]
    assert len(keys) == 3
    assert len(set(keys)) == 1


def test_retry_after_is_honoured(stack, invoke):
    stack.minimo.add_faults(
        [{"status": 429, "headers": {"Retry-After": "1"}}], email="customer@example.com"
    )
    enrich(invoke, stack, "customer@example.com")
    first, second = stack.minimo.requests()
    assert second["received_at"] - first["answered_at"] >= 1.0


def test_failures_after_the_last_attempt_make_the_event_partial(stack, invoke):
    stack.minimo.add_faults([{"status": 503}] * 3, email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["minimo"] == {
        "status": "error",
        "contact": None,
        # Minimo's own envelope: its code, and its message after ours.
        "error": {
            "code": "service_unavailable",
            "message": "Minimo answered HTTP 503: Service Unavailable",
        },
    }
    assert enrichment["relationship"] == "customer"  # the sales API still answered
    assert len(stack.minimo.requests()) == 3  # LOOKUP_MAX_ATTEMPTS


def test_timeouts_are_retried_then_reported(stack, invoke, function_env):
    function_env(HTTP_TIMEOUT_SECONDS="0.2", LOOKUP_MAX_ATTEMPTS="2")
    stack.sales.add_faults([{"delay": 0.5}] * 2, email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["sales"]["error"]["code"] == "timeout"
    assert enrichment["contact_id"] == 42
    assert len(wait_for_requests(stack.sales, 2)) == 2


@pytest.mark.parametrize(
    ("fault", "code"),
    [({"reset": True}, "connection_error"), ({"non_json": True}, "invalid_response")],
)
def test_broken_answers(stack, invoke, fault, code):
    stack.minimo.add_faults([fault] * 3, email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["minimo"]["error"]["code"] == code


def test_truncated_answer_is_an_error_not_a_crash(stack, invoke):
    stack.sales.add_faults([{"truncate": True}], email="customer@example.com")
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["sales"]["error"]["code"] == "connection_error"


@pytest.mark.parametrize(
    ("overrides", "api", "code"),
    [
        ({"MINIMO_API_KEY": "mn-sandbox-wrong"}, "minimo", "unauthorized"),
        ({"SALES_API_KEY": "wrong"}, "sales", "invalid_credentials"),
        ({"SALES_API_KEY": "sk_sandbox_readonly_3Hd9Kf6Zb1"}, "sales", "insufficient_permissions"),
        ({"SALES_API_VERSION": "2024-01-01"}, "sales", "api_version_invalid"),
        ({"MINIMO_API_KEY": None}, "minimo", "missing_api_key"),
    ],
)
def test_configuration_errors_are_not_retried(
    stack, invoke, function_env, capfd, function_logs, overrides, api, code
):
    function_env(**overrides)
    capfd.readouterr()
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment[api]["error"]["code"] == code
    sandbox = stack.minimo if api == "minimo" else stack.sales
    assert len(sandbox.requests()) == (0 if code == "missing_api_key" else 1)
    assert '"LookupConfigErrors":[1.0]' in capfd.readouterr().out
    [error] = [json.loads(line) for line in function_logs().splitlines() if '"ERROR"' in line]
    assert error["message"] == "lookup failed: configuration error"
    assert error["error"]["code"] == code


@pytest.mark.parametrize(
    ("fault", "api"), [({"status": 400}, "minimo"), ({"status": 404}, "sales")]
)
def test_400_and_404_are_never_retried(stack, invoke, fault, api):
    sandbox = stack.minimo if api == "minimo" else stack.sales
    sandbox.add_faults([fault], email="customer@example.com")
    enrich(invoke, stack, "customer@example.com")
    assert len(sandbox.requests()) == 1


def test_no_retry_outlives_the_invocation(stack, invoke):
    stack.minimo.add_faults(
        [{"status": 503, "headers": {"Retry-After": "30"}}], email="customer@example.com"
    )
    started = time.monotonic()
    enrichment = enrich(invoke, stack, "customer@example.com", timeout=6)
    assert time.monotonic() - started < 6
    assert enrichment["minimo"]["error"]["code"] == "service_unavailable"
    assert len(stack.minimo.requests()) == 1  # waiting 30 s would not fit: given up at once


def test_a_hung_api_cannot_hold_the_event_past_the_deadline(stack, invoke, function_env):
    function_env(HTTP_TIMEOUT_SECONDS="10")
    stack.sales.add_faults([{"delay": 8}], email="customer@example.com")
    started = time.monotonic()
    enrichment = enrich(invoke, stack, "customer@example.com", timeout=4)
    assert time.monotonic() - started < 4
    assert enrichment["sales"]["error"]["code"] in ("timeout", "deadline_exceeded")
    assert enrichment["contact_id"] == 42


def test_keys_come_from_secrets_manager_when_configured(stack, invoke, function_env):
    function_env(
        API_KEYS_SECRET_ARN=stack.secret_arn, MINIMO_API_KEY="wrong", SALES_API_KEY="wrong"
    )
    body = b'{"email": "customer@example.com"}'
    headers = signing.standard_webhooks(stack.webhook_secret, "msg_1", body)
    assert invoke(http_api_event(body, headers=headers))["statusCode"] == 202
    [message] = stack.receive_all()
    assert message["body"]["enrichment"]["status"] == "enriched"


def test_an_unreadable_secret_is_a_configuration_error(stack, invoke, function_env):
    function_env(API_KEYS_SECRET_ARN=stack.secret_arn.replace("api-keys", "missing"))
    assert invoke({"email": "customer@example.com"})["status"] == "partial"  # direct: unsigned
    [message] = stack.receive_all()
    enrichment = message["body"]["enrichment"]
    assert enrichment["minimo"]["error"]["code"] == "secret_unavailable"
    assert enrichment["sales"]["error"]["code"] == "secret_unavailable"
    assert stack.minimo.requests() == stack.sales.requests() == []


def test_lookup_metrics(stack, invoke, capfd):
    stack.sales.add_faults([{"status": 503}] * 3, email="customer@example.com")
    capfd.readouterr()
    enrich(invoke, stack, "customer@example.com")
    lines = capfd.readouterr().out.splitlines()
    # The first invocation of a process also emits Powertools' ColdStart metric, on its own line.
    [emf] = [json.loads(line) for line in lines if '"_aws"' in line and "ColdStart" not in line]
    assert emf["MinimoLookups"] == [1.0]
    assert emf["SalesLookups"] == [1.0]
    assert emf["SalesLookupErrors"] == [1.0]
    assert emf["EventsPartial"] == [1.0]
    assert emf["EventsForwarded"] == [1.0]
    assert "MinimoLookupErrors" not in emf
