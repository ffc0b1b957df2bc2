"""GET /__sandbox/ on each sandbox: an index of its control routes with a curl command for each,
built from the sandbox's table of routes. The commands are run as a user would paste them (parsed
as the shell would, sent with `requests`), so an index that shows a wrong command fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from local.stand_ins.minimo_sandbox import MinimoSandbox
from local.stand_ins.sandbox_control_routes import CONTROL_PREFIX, ControlRoute
from local.stand_ins.sandbox_messages import ApiResponse
from local.stand_ins.sandbox_server import SandboxServer
from local.stand_ins.stack import LocalStack
from tests.curl_commands import curl_commands


@pytest.fixture(params=["minimo", "sales"])
def sandbox(request: pytest.FixtureRequest, local_stack: LocalStack) -> Iterator[SandboxServer]:
    sandbox: SandboxServer = getattr(local_stack, request.param)
    sandbox.reset()
    yield sandbox
    sandbox.reset()


def test_the_index_lists_every_control_route_with_a_curl_command(sandbox: SandboxServer):
    answer = requests.get(sandbox.root_url + CONTROL_PREFIX, timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    commands = curl_commands(answer.text)
    routes = {(c["method"], c["url"]) for c in commands}
    for route in type(sandbox).control_routes:
        url = f"{sandbox.root_url}{CONTROL_PREFIX}{route.name}"
        assert f"{route.method} {CONTROL_PREFIX}{route.name}: {route.summary}" in answer.text
        assert (route.method, url) in routes, f"no curl for {route.method} {route.name}"
    for topic in ("latency", "faults", "requests", "rate-limit", "reset"):
        assert f"{CONTROL_PREFIX}{topic}" in answer.text


def test_every_curl_in_the_index_works_as_pasted(sandbox: SandboxServer):
    commands = curl_commands(requests.get(sandbox.root_url + CONTROL_PREFIX, timeout=5).text)
    assert len(commands) >= 8
    for command in commands:
        answer = requests.request(
            command["method"],
            command["url"],
            headers=command["headers"],
            data=command["data"],
            timeout=5,
        )
        assert answer.status_code == 200, (command, answer.text)
        # {"ok": true}, the request log, or the state a control shows or changed.
        assert isinstance(answer.json(), dict | list), command


def test_the_latency_example_takes_effect(local_stack: LocalStack):
    sandbox = local_stack.minimo
    sandbox.reset()
    index = requests.get(sandbox.root_url + CONTROL_PREFIX, timeout=5).text
    [latency] = [c for c in curl_commands(index) if c["url"].endswith("/latency")]
    requests.put(latency["url"], headers=latency["headers"], data=latency["data"], timeout=5)
    try:
        assert sandbox.latency == json.loads(latency["data"])["seconds"] > 0
    finally:
        sandbox.reset()


def test_the_fault_example_for_a_partial_event_fails_three_requests(local_stack: LocalStack):
    """The example the README's local loop uses: three 503s, as many as the function's attempts."""
    sandbox = local_stack.minimo
    sandbox.reset()
    index = requests.get(sandbox.root_url + CONTROL_PREFIX, timeout=5).text
    faults = [c for c in curl_commands(index) if c["url"].endswith("/faults")]
    steps = json.loads(faults[0]["data"])["steps"]
    assert steps == [{"status": 503}] * 3
    requests.post(faults[0]["url"], headers=faults[0]["headers"], data=faults[0]["data"], timeout=5)
    url = f"{sandbox.url}/contacts/by-email/customer@example.com"
    headers = {"Authorization": f"Bearer {local_stack.minimo_api_key}"}
    statuses = [requests.get(url, headers=headers, timeout=5).status_code for _ in range(4)]
    assert statuses == [503, 503, 503, 200]
    sandbox.reset()


@pytest.mark.slow  # real waits of a second or more
def test_an_outage_fails_every_request_until_its_time_is_up(local_stack: LocalStack):
    """Unlike a fault script (the next N requests), an outage fails whatever arrives while it
    lasts, in the API's own envelope, then the API answers again by itself."""
    sandbox = local_stack.minimo
    sandbox.reset()
    index = requests.get(sandbox.root_url + CONTROL_PREFIX, timeout=5).text
    outages = [c for c in curl_commands(index) if c["url"].endswith("/outage")]
    [down, _up] = [c for c in outages if c["method"] == "PUT"]
    assert json.loads(down["data"]) == {"seconds": 20, "status": 503}
    control = local_stack.minimo_control
    url = f"{sandbox.url}/contacts/by-email/customer@example.com"
    headers = {"Authorization": f"Bearer {local_stack.minimo_api_key}"}
    try:
        control.start_outage(1.5)
        during = [requests.get(url, headers=headers, timeout=5) for _ in range(5)]
        assert [r.status_code for r in during] == [503] * 5
        assert during[0].json()["error"]["code"] == "service_unavailable"
        assert control.outage()["active"] is True
        while control.outage()["active"]:
            assert control.outage()["seconds_left"] <= 1.5
            requests.get(url, headers=headers, timeout=5)
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        control.start_outage(60, status=502)
        assert requests.get(url, headers=headers, timeout=5).status_code == 502
        control.start_outage(0)  # ended at once
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        refused = requests.put(
            f"{sandbox.root_url}{CONTROL_PREFIX}outage",
            json={"seconds": 5, "status": 404},
            timeout=5,
        )
        assert refused.status_code == 400  # an outage is the server's: a 5xx
        control.start_outage(60)
        sandbox.reset()  # ends it too
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
    finally:
        sandbox.reset()


class _PacedSandbox(MinimoSandbox):
    """A sandbox with one control of its own, as an API-specific control is added."""

    pace_per_second = 0.0
    control_routes = (
        *MinimoSandbox.control_routes,
        ControlRoute(
            "PUT",
            "pace",
            "requests per second before 429",
            lambda sandbox, data: _set_pace(sandbox, data),
            examples=(("five a second", {"per_second": 5}),),
        ),
    )


def _set_pace(sandbox: Any, data: Any) -> ApiResponse:
    sandbox.pace_per_second = float(data["per_second"])
    return ApiResponse(200, {"per_second": sandbox.pace_per_second})


def test_a_sandbox_extends_its_controls_by_adding_to_its_table(local_stack: LocalStack):
    with _PacedSandbox(local_stack.data["minimo"]) as sandbox:
        index = requests.get(sandbox.root_url + CONTROL_PREFIX, timeout=5).text
        [pace] = [c for c in curl_commands(index) if c["url"].endswith("/pace")]
        answer = requests.put(pace["url"], headers=pace["headers"], data=pace["data"], timeout=5)
        assert answer.json() == {"per_second": 5.0}
        assert sandbox.pace_per_second == 5.0
        assert "PUT /__sandbox/latency" in index  # the shared controls stay
        bad = requests.put(pace["url"], json={"per_second": "fast"}, timeout=5)
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "bad_request"
    # Only the class that adds a control serves it.
    plain = requests.put(f"{local_stack.minimo.root_url}{CONTROL_PREFIX}pace", json={}, timeout=5)
    assert plain.status_code == 404
