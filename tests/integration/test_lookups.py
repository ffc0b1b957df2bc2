"""Both APIs' answers seen from the sandboxes' request logs: what is found, what each request
looks like, what configuration changes, where the keys come from, the lookup metrics.
Retries, failures and time limits: test_lookup_failures.py."""

from __future__ import annotations

import json

import pytest

from local.stand_ins.lambda_events import http_api_event
from tests import signing
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
