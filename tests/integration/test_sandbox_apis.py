"""The sandbox APIs behave as the two API documents describe (plain `requests`, no function code),
so that what the function is tested against is what it will meet."""

from __future__ import annotations

import pytest
import requests

from local.sandbox_client import SandboxClient

FIND = "/v1/sales/contacts/actions/find-by-email"


@pytest.fixture
def minimo(stack):
    stack.reset()

    def get(email_path: str, key: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or stack.minimo_api_key}"}
        return requests.get(
            f"{stack.minimo.url}/contacts/by-email/{email_path}", headers=headers, timeout=5
        )

    return get


@pytest.fixture
def sales(stack):
    stack.reset()

    def post(
        body: dict, key: str | None = None, path: str = FIND, **headers: str
    ) -> requests.Response:
        headers["Authorization"] = f"Bearer {key or stack.sales_api_key}"
        return requests.post(stack.sales.url + path, json=body, headers=headers, timeout=5)

    return post


def test_minimo_answers(minimo):
    found = minimo("customer%40example.com")
    assert found.status_code == 200
    assert found.json()["data"]["id"] == 42
    assert minimo("nobody%40example.net").json()["error"]["code"] == "not_found"
    assert minimo("former%40example.com").status_code == 404  # soft-deleted
    assert minimo("not-an-email").json()["error"]["code"] == "bad_request"
    assert minimo("customer%40example.com", key="mn-sandbox-wrong").status_code == 401
    unencoded = minimo("a/b@example.com")
    assert (unencoded.status_code, unencoded.json()["error"]["code"]) == (404, "route_not_found")


def test_sales_pages_through_every_match(sales, stack):
    first = sales({"email": "shared@multi.example"}).json()
    assert first["object"] == "list"
    assert len(first["data"]) == 2
    assert first["page_info"]["has_next_page"] is True
    matches = list(first["data"])
    page = first
    while page["page_info"]["next_page_url"]:
        page = sales(
            {"email": "shared@multi.example"}, path=page["page_info"]["next_page_url"]
        ).json()
        matches += page["data"]
    assert len(matches) == 5
    assert {m["relationship"] for m in matches} == {"customer", "supplier", "self"}
    assert all(m["account_user"] is None for m in matches)  # not asked for
    assert all(m["account"]["name"] for m in matches)


def test_sales_filters_and_expands(sales):
    body = {
        "email": "shared@multi.example",
        "relationships": ["supplier"],
        "include": ["account_user.user"],
    }
    [match] = sales(body).json()["data"]
    assert match["relationship"] == "supplier"
    assert match["account_user"]["user"]["email"] == "shared@multi.example"
    assert match["account_user"]["role"] is None


@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        ({"email": "customer@example.com"}, "wrong", 401),
        ({"email": "customer@example.com"}, "sk_sandbox_readonly_3Hd9Kf6Zb1", 403),
        ({"email": "nope"}, None, 400),
        ({"email": "a@x.io", "relationships": ["partner"]}, None, 400),
        ({"email": "a@x.io", "include": ["account"]}, None, 400),
    ],
)
def test_sales_errors(sales, body, key, status):
    assert sales(body, key=key).status_code == status


def test_sales_idempotency_key_replays_and_refuses_reuse(sales):
    first = sales({"email": "customer@example.com"}, **{"Idempotency-Key": "k1"})
    again = sales({"email": "customer@example.com"}, **{"Idempotency-Key": "k1"})
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    reused = sales({"email": "supplier@partner.example"}, **{"Idempotency-Key": "k1"})
    assert reused.json()["error"]["code"] == "idempotency_key_reused"


def test_faults_latency_and_the_request_log(stack, minimo):
    control = SandboxClient(stack.minimo.root_url)
    control.add_faults([{"status": 503}, {"pass": True}, {"status": 502}])
    assert [minimo("customer%40example.com").status_code for _ in range(4)] == [503, 200, 502, 200]
    control.set_latency(0.1)
    minimo("customer%40example.com")
    log = control.requests()
    assert [r["status"] for r in log] == [503, 200, 502, 200, 200]
    assert log[-1]["answered_at"] - log[-1]["received_at"] >= 0.1
    assert log[0]["path"] == "/public/v1/contacts/by-email/customer%40example.com"
    assert log[0]["headers"]["authorization"] == "<redacted>"
