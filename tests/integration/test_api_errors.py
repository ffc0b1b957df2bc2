"""What the APIs' error answers become: their codes in the enriched event, retries for what they
mark transient, configuration errors counted and logged once, redirects never followed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local.stand_ins.lambda_events import sqs_event
from tests.conftest import wait_for_requests
from tests.handler_results import enrich


def openmrp_error(status: int, code: str, param: str | None = None, **extra: object) -> dict:
    """A fault step answering with OpenMRP's full error envelope."""
    return {
        "status": status,
        "body": {
            "error": {
                "code": code,
                "type": "invalid_request_error",
                "message": f"The sandbox says {code}.",
                "param": param,
                "doc_url": None,
                "is_transient": extra.get("is_transient", False),
                "quota": None,
                "request_log_url": None,
            }
        },
    }


def test_the_sales_apis_code_and_param_reach_the_event(stack, invoke, capfd, function_logs):
    stack.sales.add_faults(
        [openmrp_error(400, "parameter_unknown", "include")], email="customer@example.com"
    )
    capfd.readouterr()
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "partial"
    assert enrichment["sales"]["error"] == {
        "code": "parameter_unknown",
        "message": "the sales API answered HTTP 400: The sandbox says parameter_unknown.",
        "param": "include",
    }
    assert len(stack.sales.requests()) == 1  # never retried
    # A parameter the API does not know is the deployment's fault, not the event's.
    assert '"LookupConfigErrors":[1.0]' in capfd.readouterr().out
    [error] = [json.loads(line) for line in function_logs().splitlines() if '"ERROR"' in line]
    assert error["error"] == {"code": "parameter_unknown", "param": "include"}
    assert "sandbox says" not in function_logs()  # API messages may quote the address: not logged


def test_an_invalid_address_is_the_events_fault_not_the_deployments(stack, invoke, capfd):
    stack.sales.add_faults(
        [openmrp_error(400, "invalid_format", "email")], email="customer@example.com"
    )
    capfd.readouterr()
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["sales"]["error"]["code"] == "invalid_format"
    assert "LookupConfigErrors" not in capfd.readouterr().out


def test_a_wrong_base_url_is_a_configuration_error(stack, invoke, function_env, capfd):
    function_env(SALES_API_BASE_URL=stack.sales.url + "/api")
    capfd.readouterr()
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["sales"]["error"]["code"] == "resource_not_found"
    assert '"LookupConfigErrors":[1.0]' in capfd.readouterr().out


def test_configuration_errors_are_logged_once_per_invocation(
    stack, invoke, function_env, capfd, function_logs
):
    function_env(SALES_API_VERSION="2024-01-01")
    capfd.readouterr()
    emails = ["customer@example.com", "supplier@partner.example", "nobody@example.net"]
    assert invoke(sqs_event([{"email": e} for e in emails])) == {"batchItemFailures": []}
    messages = stack.receive_all()
    assert {m["body"]["enrichment"]["sales"]["error"]["code"] for m in messages} == {
        "api_version_invalid"
    }
    assert '"LookupConfigErrors":[3.0]' in capfd.readouterr().out
    errors = [json.loads(line) for line in function_logs().splitlines() if '"ERROR"' in line]
    assert [(e["api"], e["error"]["code"], e["lookups"]) for e in errors] == [
        ("sales API", "api_version_invalid", 3)
    ]


@pytest.mark.slow  # an API slower than the timeout, retried until it answers
def test_a_key_still_in_flight_is_waited_for_with_the_same_key(stack, invoke, function_env):
    """The first attempt times out while the API is still working on it; the retry carries the
    same Idempotency-Key, draws 409 idempotency_in_progress (transient), and the next retry
    gets the first request's answer replayed."""
    function_env(HTTP_TIMEOUT_SECONDS="0.3", LOOKUP_MAX_ATTEMPTS="6")
    stack.sales.set_latency(0.6)
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment["status"] == "enriched"
    assert enrichment["relationship"] == "customer"
    requests = wait_for_requests(stack.sales, 3)
    assert len({r["headers"]["idempotency-key"] for r in requests}) == 1
    assert 409 in [r["status"] for r in requests]
    assert [r["status"] for r in requests].count(200) >= 2  # the first, and its replay


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("api", ["minimo", "sales"])
def test_redirects_are_never_followed(stack, invoke, listener, api, status):
    sandbox = stack.minimo if api == "minimo" else stack.sales
    sandbox.add_faults(
        [{"status": status, "headers": {"Location": f"{listener.url}/steal"}, "body": ""}] * 3,
        email="customer@example.com",
    )
    enrichment = enrich(invoke, stack, "customer@example.com")
    assert enrichment[api]["error"]["code"] == "invalid_response"
    assert "redirect" in enrichment[api]["error"]["message"]
    assert len(sandbox.requests()) == 1  # not retried either
    assert listener.received == []


class _Listener(ThreadingHTTPServer):
    """Records every request that reaches it; the tests require that none does."""

    daemon_threads = True

    def __init__(self) -> None:
        self.received: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_ANY(self) -> None:
                listener.received.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"data": {"id": 666}}')

            do_GET = do_POST = do_ANY

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


@pytest.fixture
def listener() -> Iterator[_Listener]:
    server = _Listener()
    # Polled every 50 ms: shutdown() waits for the next poll (0.5 s by default).
    thread = threading.Thread(target=lambda: server.serve_forever(0.05), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
