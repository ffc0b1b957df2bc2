"""The sandboxes' fault injection does what the tests that rely on it expect: scripts played in
order (by page too), broken and non-JSON answers, latency until reset, and a request log that
keeps raw paths and hides keys."""

from __future__ import annotations

import time

import pytest
import requests


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
