"""The sandbox APIs behave as the two API documents describe (plain `requests`, no function code),
so that what the function is tested against is what it will meet; and their fault injection does
what the tests that rely on it expect."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests

from local.stack import LocalStack

FIND = "/v1/sales/contacts/actions/find-by-email"
CONTACT_FIELDS = {
    "id",
    "email",
    "phone",
    "status",
    "source",
    "custom_fields",
    "company",
    "deleted",
    "external_id",
    "external_connection_id",
}


@pytest.fixture(scope="module")
def local_stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture
def stack(local_stack: LocalStack) -> LocalStack:
    local_stack.minimo_control.reset()
    local_stack.sales_control.reset()
    return local_stack


@pytest.fixture
def minimo(stack: LocalStack) -> Callable[..., requests.Response]:
    def get(email_path: str, key: str | None = None, **options: float) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or stack.minimo_api_key}"}
        url = f"{stack.minimo.url}/contacts/by-email/{email_path}"
        return requests.get(url, headers=headers, timeout=options.get("timeout", 5))

    return get


@pytest.fixture
def sales(stack: LocalStack) -> Callable[..., requests.Response]:
    def post(
        body: object, key: str | None = None, path: str = FIND, **headers: str
    ) -> requests.Response:
        headers["Authorization"] = f"Bearer {key or stack.sales_api_key}"
        return requests.post(stack.sales.url + path, json=body, headers=headers, timeout=5)

    return post


def test_minimo_returns_the_full_contact(minimo):
    found = minimo("Customer%40Example.COM")  # matched case-insensitively
    assert found.status_code == 200
    assert found.headers["Content-Type"] == "application/json"
    contact = found.json()["data"]
    assert set(contact) == CONTACT_FIELDS
    assert (contact["id"], contact["email"], contact["deleted"]) == (
        42,
        "customer@example.com",
        False,
    )


@pytest.mark.parametrize(
    ("email_path", "key", "status", "code"),
    [
        ("nobody%40example.net", None, 404, "not_found"),
        ("former%40example.com", None, 404, "not_found"),  # soft-deleted
        ("not-an-email", None, 400, "bad_request"),
        ("customer%40example.com", "mn-sandbox-wrong", 401, "unauthorized"),
        ("a/b@example.com", None, 404, "route_not_found"),  # an unencoded "/" adds a segment
        ("a%2Fb%40example.com", None, 404, "not_found"),  # encoded, it is part of the address
    ],
)
def test_minimo_errors(minimo, email_path, key, status, code):
    answer = minimo(email_path, key=key)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_sales_pages_through_every_match(sales):
    pages = [sales({"email": "shared@multi.example"}).json()]
    while next_url := pages[-1]["page_info"]["next_page_url"]:
        assert next_url.startswith(f"{FIND}?cursor=")  # relative to the host
        pages.append(sales({"email": "shared@multi.example"}, path=next_url).json())
    assert [len(p["data"]) for p in pages] == [2, 2, 1]
    assert [p["page_info"]["has_prev_page"] for p in pages] == [False, True, True]
    assert pages[0]["page_info"]["previous_page_url"] is None
    matches = [m for p in pages for m in p["data"]]
    assert len({m["id"] for m in matches}) == 5
    assert {m["relationship"] for m in matches} == {"customer", "supplier", "self"}
    assert all(m["object"] == "contact_match" and m["account_user"] is None for m in matches)
    assert {m["account"]["name"] for m in matches} >= {"Acme Corp", "Initech"}


def test_sales_unknown_email_is_an_empty_list(sales):
    answer = sales({"email": "nobody@example.net"})
    assert answer.status_code == 200
    assert answer.json()["data"] == []
    assert answer.json()["page_info"]["has_next_page"] is False


def test_sales_filters_and_expands(sales):
    body = {
        "email": "SHARED@multi.example",
        "relationships": ["supplier"],
        "include": ["account_user.user"],
    }
    [match] = sales(body).json()["data"]
    assert match["relationship"] == "supplier"
    assert match["account_user"]["object"] == "account_user"
    assert match["account_user"]["user"]["email"] == "shared@multi.example"
    assert match["account_user"]["role"] is None
    body = {"email": "customer@example.com", "include": ["account_user.role"]}
    [match] = sales(body).json()["data"]
    assert match["account_user"]["role"]["owner"] is None
    assert match["account_user"]["role"]["permissions"] == ["customers:read"]
    assert match["account_user"]["user"] is None
    removed = {"email": "shared@multi.example", "include": ["account_user"]}
    pages = [sales(removed).json()]
    while pages[-1]["page_info"]["next_page_url"]:
        pages.append(sales(removed, path=pages[-1]["page_info"]["next_page_url"]).json())
    statuses = [m["account_user"]["status"] for p in pages for m in p["data"]]
    assert sorted(statuses) == ["active"] * 4 + ["removed"]


@pytest.mark.parametrize(
    ("body", "key", "status", "code"),
    [
        ({"email": "customer@example.com"}, "wrong", 401, "unauthorized"),
        ({"email": "customer@example.com"}, "forbidden_api_key", 403, "forbidden"),
        ({"email": "nope"}, None, 400, "bad_request"),
        ({}, None, 400, "bad_request"),
        (["customer@example.com"], None, 400, "bad_request"),
        ({"email": "a@x.io", "relationships": ["partner"]}, None, 400, "bad_request"),
        ({"email": "a@x.io", "relationships": "customer"}, None, 400, "bad_request"),
        ({"email": "a@x.io", "include": ["account"]}, None, 400, "bad_request"),
    ],
)
def test_sales_errors(stack, sales, body, key, status, code):
    answer = sales(body, key=stack.data["sales"].get(key, key))
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_sales_refuses_a_body_that_is_not_json(stack):
    answer = requests.post(
        stack.sales.url + FIND,
        data="email=customer@example.com",
        headers={"Authorization": f"Bearer {stack.sales_api_key}"},
        timeout=5,
    )
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "bad_request")


def test_sales_idempotency_key_replays_and_refuses_reuse(sales):
    first = sales({"email": "customer@example.com"}, **{"Idempotency-Key": "k1"})
    assert "Idempotent-Replayed" not in first.headers
    again = sales({"email": "customer@example.com"}, **{"Idempotency-Key": "k1"})
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other_body = sales({"email": "supplier@partner.example"}, **{"Idempotency-Key": "k1"})
    other_path = sales(
        {"email": "customer@example.com"}, path=f"{FIND}?cursor=2", **{"Idempotency-Key": "k1"}
    )
    for reused in (other_body, other_path):
        assert (reused.status_code, reused.json()["error"]["code"]) == (
            409,
            "idempotency_key_reused",
        )


def test_a_fault_script_is_played_in_order_then_the_api_recovers(stack, minimo):
    stack.minimo_control.add_faults(
        [{"status": 503, "headers": {"Retry-After": "1"}}, {"status": 502, "body": "bad gateway"}]
    )
    stack.minimo_control.add_faults([{"status": 500}], email="SUPPLIER@partner.example")
    unavailable, bad_gateway = minimo("customer%40example.com"), minimo("customer%40example.com")
    assert unavailable.status_code == 503
    assert unavailable.headers["Retry-After"] == "1"
    assert unavailable.json()["error"]["code"] == "service_unavailable"
    assert (bad_gateway.status_code, bad_gateway.text) == (502, "bad gateway")
    assert minimo("customer%40example.com").status_code == 200
    assert minimo("supplier%40partner.example").status_code == 500  # its own script
    assert minimo("supplier%40partner.example").status_code == 200


def test_a_page_step_waits_for_a_later_page(stack, sales):
    stack.sales_control.add_faults([{"page": 2, "status": 503}], email="shared@multi.example")
    first = sales({"email": "shared@multi.example"})
    assert first.status_code == 200
    next_url = first.json()["page_info"]["next_page_url"]
    assert sales({"email": "shared@multi.example"}, path=next_url).status_code == 503
    assert sales({"email": "shared@multi.example"}, path=next_url).status_code == 200


@pytest.mark.parametrize(
    ("step", "raised"),
    [
        ({"reset": True}, requests.ConnectionError),
        ({"truncate": True}, requests.exceptions.ChunkedEncodingError),
        ({"delay": 0.5}, requests.ReadTimeout),
    ],
)
def test_broken_answers(stack, minimo, step, raised):
    stack.minimo_control.add_faults([step])
    with pytest.raises(raised):
        minimo("customer%40example.com", timeout=0.2)
    assert minimo("customer%40example.com").status_code == 200


def test_non_json_answer(stack, minimo):
    stack.minimo_control.add_faults([{"non_json": True}])
    answer = minimo("customer%40example.com")
    assert (answer.status_code, answer.headers["Content-Type"]) == (200, "text/html")
    assert answer.text == "<html>oops</html>"


def test_latency_applies_until_reset(stack, minimo):
    stack.minimo_control.set_latency(0.2)
    started = time.monotonic()
    assert minimo("customer%40example.com").status_code == 200
    assert time.monotonic() - started >= 0.2
    stack.minimo_control.reset()
    started = time.monotonic()
    minimo("customer%40example.com")
    assert time.monotonic() - started < 0.2


def test_the_request_log_keeps_raw_paths_and_hides_keys(stack, minimo, sales):
    minimo("jane.doe%2Bnewsletter%40example.com")
    minimo("customer%40example.com", key="mn-sandbox-wrong")
    sales({"email": "customer@example.com"}, **{"Idempotency-Key": "k2"})
    found, refused = stack.minimo_control.requests()  # control calls are not logged
    assert found["path"] == "/public/v1/contacts/by-email/jane.doe%2Bnewsletter%40example.com"
    assert found["email"] == "jane.doe+newsletter@example.com"
    assert (found["method"], found["status"], found["authorized"]) == ("GET", 200, True)
    assert found["headers"]["authorization"] == "<redacted>"
    assert (refused["status"], refused["authorized"]) == (401, False)
    assert found["at"] <= refused["at"] <= time.time()
    [request] = stack.sales_control.requests()
    assert request["body"] == {"email": "customer@example.com"}
    assert request["headers"]["idempotency-key"] == "k2"
    stack.minimo_control.clear_requests()
    assert stack.minimo_control.requests() == []
