"""The sandbox APIs behave as the real services do (plain `requests`, no function code), so that
what the function is tested against is what it will meet in production; and their fault
injection does what the tests that rely on it expect.

The sales API's rules are those of docs/sales-api.md, read from OpenMRP's published gateway
source (github.com/open-mrp/api; local/stand_ins/sales_sandbox.py names the files).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import pytest
import requests

from local.stand_ins.stack import LocalStack

FIND = "/v1/sales/contacts/actions/find-by-email"
VERSION = "1.0.forge-preview.8"
ENVELOPE_KEYS = {
    "code",
    "type",
    "message",
    "param",
    "doc_url",
    "is_transient",
    "quota",
    "request_log_url",
}
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
    """POSTs as the sales API wants it unless told otherwise: body as given, the version header,
    the key; `query` is sent as it is written."""

    def post(
        body: object = None,
        *,
        key: str | None = None,
        query: str = "",
        version: str | None = VERSION,
        path: str = FIND,
        data: bytes | None = None,
        **headers: str,
    ) -> requests.Response:
        headers = {k.replace("_", "-"): v for k, v in headers.items()}
        if key != "":
            headers["Authorization"] = f"Bearer {key or stack.sales_api_key}"
        if version:
            headers["OpenMRP-Version"] = version
        url = stack.sales.url + path + (f"?{query}" if query else "")
        if data is None and body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        return requests.post(url, data=data, headers=headers, timeout=5)

    return post


def sales_error(answer: requests.Response) -> tuple[int, str, str | None]:
    error = answer.json()["error"]
    assert set(error) == ENVELOPE_KEYS  # every key, null where it does not apply
    assert error["type"] in ("invalid_request_error", "idempotency_error", "api_error")
    return answer.status_code, error["code"], error["param"]


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


# --- the sales API: a found address ----------------------------------------------------------


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


# --- the sales API: refusals -----------------------------------------------------------------


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
    from local.stand_ins.sales_sandbox import _decode_body
    from local.stand_ins.sandbox_server import ApiRequest

    refused = _decode_body(ApiRequest("POST", FIND, {}, b'{"emial": "a@x.io"}'))
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


# --- the sales API: Idempotency-Key ----------------------------------------------------------


def test_sales_replays_what_a_key_answered(sales):
    first = sales({"email": "customer@example.com"}, Idempotency_Key="k1")
    assert "Idempotent-Replayed" not in first.headers
    again = sales({"email": "customer@example.com"}, Idempotency_Key="k1")
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    refused = sales({"email": "nope"}, Idempotency_Key="k2")  # a 4xx is kept too
    assert sales({"email": "nope"}, Idempotency_Key="k2").headers["Idempotent-Replayed"] == "true"
    assert refused.status_code == 400


def test_sales_refuses_a_key_reused_with_other_parameters(sales):
    sales({"email": "customer@example.com"}, Idempotency_Key="k1")
    other_body = sales({"email": "supplier@partner.example"}, Idempotency_Key="k1")
    other_query = sales(
        {"email": "customer@example.com"}, query="include=account", Idempotency_Key="k1"
    )
    for reused in (other_body, other_query):
        assert sales_error(reused) == (400, "validation_failed", None)
        assert reused.json()["error"]["type"] == "idempotency_error"
    # Keys are the caller's own: another caller's k1 is another key.
    assert (
        sales({"email": "supplier@partner.example"}, key="", Idempotency_Key="k1").status_code
        == 401
    )


def test_sales_refuses_a_key_still_in_flight(stack, sales):
    stack.sales_control.set_latency(0.5)
    answers: list[requests.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(
            sales({"email": "customer@example.com"}, Idempotency_Key="k3")
        )
    )
    first.start()
    time.sleep(0.2)
    overlapping = sales({"email": "customer@example.com"}, Idempotency_Key="k3")
    first.join()
    assert sales_error(overlapping) == (409, "idempotency_in_progress", None)
    assert overlapping.json()["error"]["is_transient"] is True
    assert "Retry-After" not in overlapping.headers
    assert answers[0].status_code == 200


def test_sales_refuses_an_idempotency_key_over_255_characters(sales):
    assert sales({"email": "a@x.io"}, Idempotency_Key="k" * 255).status_code == 200
    answer = sales({"email": "a@x.io"}, Idempotency_Key="k" * 256)
    assert sales_error(answer) == (400, "invalid_format", "Idempotency-Key")


# --- the sales API: the rate limit -----------------------------------------------------------


def test_sales_allows_20_requests_a_second_then_answers_429(stack, sales):
    settings = stack.sales_control.rate_limit()
    assert (settings["enabled"], settings["limit"], settings["window_seconds"]) == (True, 20, 1)
    stack.sales_control.set_rate_limit(window_seconds=30)  # the same limit, on a slow machine too
    answers = [sales({"email": "customer@example.com"}) for _ in range(21)]
    assert [a.status_code for a in answers] == [200] * 20 + [429]
    assert [a.headers["RateLimit-Remaining"] for a in answers[:3]] == ["19", "18", "17"]
    refused = answers[-1]
    assert sales_error(refused) == (429, "rate_limit_exceeded", None)
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["is_transient"] is True
    assert refused.headers["Retry-After"] == "1"  # 1.5 s, whole seconds
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert "OpenMRP-Version" not in refused.headers  # the limiter answers before it is set


def test_sales_retry_after_grows_with_each_refusal_in_a_row(stack, sales):
    stack.sales_control.set_rate_limit(limit=1, window_seconds=3, jitter=0)
    assert sales({"email": "customer@example.com"}).status_code == 200
    retry_afters = [int(sales({"email": "a@x.io"}).headers["Retry-After"]) for _ in range(18)]
    assert retry_afters[:6] == [1, 2, 3, 5, 7, 11]  # 1.5^n s, whole seconds
    assert retry_afters[-1] == 900  # capped at 15 minutes
    # Refusals do not fill the window: once it slides, a request goes, and the count restarts.
    time.sleep(3.1)
    assert sales({"email": "customer@example.com"}).status_code == 200
    assert sales({"email": "a@x.io"}).headers["Retry-After"] == "1"
    assert stack.sales_control.rate_limit()["refused"] == 19


def test_sales_rate_limit_window_slides(stack, sales):
    stack.sales_control.set_rate_limit(limit=5, window_seconds=0.5)
    assert [sales({"email": "a@x.io"}).status_code for _ in range(6)] == [200] * 5 + [429]
    time.sleep(0.6)
    assert sales({"email": "a@x.io"}).status_code == 200


# --- the sales API: opt-in pagination ---------------------------------------------------------


def test_sales_pagination_is_an_opt_in_fault(stack, sales):
    stack.sales_control.set_pagination(2)
    query = "include=account_user&relationships=customer&relationships=supplier"
    pages = [sales({"email": "shared@multi.example"}, query=query).json()]
    while next_url := pages[-1]["page_info"]["next_page_url"]:
        assert next_url.startswith(f"{FIND}?")  # relative to the host, the query carried along
        pages.append(sales({"email": "shared@multi.example"}, path=next_url).json())
    assert [len(p["data"]) for p in pages] == [2, 1]
    assert [p["page_info"]["has_prev_page"] for p in pages] == [False, True]
    matches = [m for p in pages for m in p["data"]]
    assert sorted(m["relationship"] for m in matches) == ["customer", "customer", "supplier"]
    assert all(m["account_user"]["status"] == "active" for m in matches)
    stack.sales_control.set_pagination(None)
    assert sales({"email": "shared@multi.example"}).json()["page_info"]["next_page_url"] is None


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
    stack.sales_control.set_pagination(2)
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
    sales({"email": "customer@example.com"}, Idempotency_Key="k2")
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


def test_a_request_answered_after_a_reset_stays_out_of_the_new_log(stack, minimo):
    """A slow answer an earlier test gave up on must not land in the next test's log."""
    stack.minimo_control.add_faults([{"delay": 0.6}])
    with pytest.raises(requests.ReadTimeout):
        minimo("customer%40example.com", timeout=0.2)
    stack.minimo_control.reset()
    time.sleep(0.6)  # the slow one is answered (to nobody) now
    minimo("supplier%40partner.example")
    assert [r["email"] for r in stack.minimo_control.requests()] == ["supplier@partner.example"]
