"""X-Ray traces of real invocations: what nests where, and that no address ever reaches one.

Each test runs the real handler in a fresh process with tracing on, as deployed (`Tracing:
Active`): `traced_lambda.py` sets what Lambda sets (LAMBDA_TASK_ROOT, a trace header per
invocation) and the X-Ray SDK sends its segments over UDP to AWS_XRAY_DAEMON_ADDRESS, where a
listener stands in for the X-Ray daemon. Nothing in the function is patched; the lookups go to
the sandbox APIs and the AWS calls to moto, as in every other integration test.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import pytest

from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_event
from tests import signing

ROOT = Path(__file__).resolve().parents[2]
DRIVER = "tests.integration.traced_lambda"  # run from the repo root
FUNCTION_DIR = ROOT / "functions" / "enrich"

# Powertools names a capture_method subsegment `## module.Class.method`.
LOOK_UP = "## lookups.enricher.Enricher.look_up"
CLAIM = "## forwarding.ledger.DeliveryLedger.claim"
SETTLE = "## forwarding.ledger.DeliveryLedger.settle"
SEND = "## forwarding.queue_sender.QueueSender.send"

FOUND_IN_BOTH = "jane.doe+newsletter@example.com"  # a contact in both sandboxes
UNKNOWN = "Trace.Probe+Unknown@Example.NET"  # in neither
FAULTY = "trace.probe.faulty@example.org"  # both APIs fail for it
QUOTED = "o'brien@example.ie"  # encodeURIComponent leaves the quote alone
ADDRESSES = (FOUND_IN_BOTH, UNKNOWN, FAULTY, QUOTED)


# --- the X-Ray daemon's stand-in --------------------------------------------------------------
class XRayDaemon:
    """Receives what the X-Ray SDK sends: one UDP datagram per document, a JSON header line
    (`{"format":"json","version":1}`) and then the segment or subsegment as JSON."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self._datagrams: list[str] = []
        self._last_received = time.monotonic()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def _receive(self) -> None:
        while not self._stopping.is_set():
            try:
                data = self._socket.recv(65_536)
            except TimeoutError:
                continue
            with self._lock:
                self._datagrams.append(data.decode())
                self._last_received = time.monotonic()

    def datagrams(self, quiet_for: float = 0.3) -> list[str]:
        """Everything received, once nothing more has arrived for `quiet_for` seconds."""
        while True:
            with self._lock:
                idle = time.monotonic() - self._last_received
                if idle >= quiet_for:
                    return list(self._datagrams)
            time.sleep(quiet_for - idle)

    def documents(self) -> list[dict[str, Any]]:
        documents = []
        for datagram in self.datagrams():
            header, _, body = datagram.partition("\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))
        return documents

    def clear(self) -> None:
        self.datagrams()
        with self._lock:
            self._datagrams.clear()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture(scope="module")
def xray_daemon() -> Iterator[XRayDaemon]:
    daemon = XRayDaemon()
    yield daemon
    daemon.close()


# --- running the handler as Lambda would ------------------------------------------------------
@dataclass
class Run:
    invocations: list[dict[str, Any]]
    xray_modules: list[str]
    stdout: str
    documents: list[dict[str, Any]]
    datagrams: list[str]


def run_traced(stack, daemon: XRayDaemon, tmp_path: Path, events: list[Any], **env: str | None):
    """The events, one invocation each, in one fresh process: its first is a cold start."""
    daemon.clear()
    as_in_lambda = {
        "LOOKUP_CACHE_TTL_SECONDS": "0",
        "LAMBDA_TASK_ROOT": str(FUNCTION_DIR),
        "AWS_LAMBDA_FUNCTION_NAME": "webhook-enrichment-EnrichFunction",
        "AWS_XRAY_DAEMON_ADDRESS": daemon.address,
        "POWERTOOLS_TRACE_DISABLED": "false",
    }
    variables = stack.env(**{**as_in_lambda, **env})
    events_file, outcomes_file = tmp_path / "events.json", tmp_path / "outcomes.json"
    events_file.write_text(json.dumps(events))
    done = subprocess.run(  # noqa: S603 - our own driver, with this interpreter
        [sys.executable, "-m", DRIVER, str(events_file), str(outcomes_file)],
        env={"PATH": os.environ.get("PATH", ""), **variables},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcomes = json.loads(outcomes_file.read_text())
    return Run(
        outcomes["invocations"],
        outcomes["xray_modules"],
        done.stdout,
        daemon.documents(),
        daemon.datagrams(),
    )


# --- reading the trace ------------------------------------------------------------------------
@dataclass
class Node:
    id: str
    name: str
    parent_id: str | None
    trace_id: str
    document: dict[str, Any] = field(repr=False)


def nodes_of(documents: list[dict[str, Any]], trace_id: str) -> dict[str, Node]:
    """Every segment and subsegment of one trace by id, whether it arrived on its own (with its
    parent_id) or inside its parent's document."""
    nodes: dict[str, Node] = {}

    def walk(document: dict[str, Any], parent_id: str | None, trace: str) -> None:
        trace = document.get("trace_id", trace)
        node = Node(
            document["id"], document["name"], document.get("parent_id", parent_id), trace, document
        )
        if trace == trace_id:
            nodes[node.id] = node
        for child in document.get("subsegments", []):
            walk(child, node.id, trace)

    for document in documents:
        walk(document, None, document.get("trace_id", ""))
    return nodes


def path_to_root(nodes: dict[str, Node], node: Node) -> list[str]:
    """The names of a node's ancestors, nearest first, up to the first one not in the trace."""
    names = []
    while node.parent_id in nodes:
        node = nodes[node.parent_id]
        names.append(node.name)
    return names


def named(nodes: dict[str, Node], name: str) -> list[Node]:
    return [n for n in nodes.values() if n.name == name]


def aws_calls(nodes: dict[str, Node], operation: str) -> list[Node]:
    return [n for n in nodes.values() if n.document.get("aws", {}).get("operation") == operation]


def status_of(result: dict[str, Any]) -> int:
    return result["statusCode"]


# --- nesting ----------------------------------------------------------------------------------
def signed_http_event(stack, submission: dict[str, Any]) -> dict[str, Any]:
    """Signed with the webhook secret in Secrets Manager, as a deployed function wants it."""
    body = json.dumps(submission).encode()
    headers = signing.standard_webhooks(stack.webhook_secret, "msg_trace", body)
    return http_api_event(body, headers=headers)


def test_every_lookup_and_aws_call_nests_under_the_handler(
    stack, function_env, xray_daemon, tmp_path
):
    run = run_traced(
        stack,
        xray_daemon,
        tmp_path,
        [signed_http_event(stack, {"email": FOUND_IN_BOTH, "name": "Jane"})],
        IDEMPOTENCY_TABLE=stack.table_name,
        API_KEYS_SECRET_ARN=stack.secret_arn,  # the keys are read in the lookup threads
        MINIMO_API_KEY=None,
        SALES_API_KEY=None,
    )
    [invocation] = run.invocations
    assert status_of(invocation["result"]) == 202
    nodes = nodes_of(run.documents, invocation["trace_id"])

    # The function segment (Lambda's own) has one child: everything else is below the handler.
    top = [n.name for n in nodes.values() if n.parent_id == invocation["function_segment_id"]]
    assert top == ["## lambda_handler"]
    assert all(
        n.name == "## lambda_handler" or path_to_root(nodes, n)[-1] == "## lambda_handler"
        for n in nodes.values()
    )

    [minimo] = named(nodes, "## minimo lookup")
    [sales] = named(nodes, "## sales lookup")
    for lookup in (minimo, sales):
        assert path_to_root(nodes, lookup) == [LOOK_UP, "## lambda_handler"]
        assert lookup.document["annotations"]["LookupStatus"] == "found"
    # The webhook secret, read to check the signature (the keys then come from the cache).
    [secret_read] = aws_calls(nodes, "GetSecretValue")
    assert path_to_root(nodes, secret_read) == ["## lambda_handler"]

    # The claim, made in the ledger's worker thread as the lookups take their addresses (a few
    # at a time, so that a batch claims only what it gets to look up).
    [put] = aws_calls(nodes, "PutItem")
    assert path_to_root(nodes, put) == [CLAIM, LOOK_UP, "## lambda_handler"]
    [update] = aws_calls(nodes, "UpdateItem")  # the delivery remembered as completed
    assert path_to_root(nodes, update) == [SETTLE, "## lambda_handler"]
    [send] = aws_calls(nodes, "SendMessageBatch")
    assert path_to_root(nodes, send) == [SEND, "## lambda_handler"]


def test_keys_read_in_a_lookup_thread_nest_under_that_lookup(
    stack, function_env, xray_daemon, tmp_path
):
    # A direct invoke checks no signature: the first read of the secret is the lookups' own.
    run = run_traced(
        stack,
        xray_daemon,
        tmp_path,
        [{"email": FOUND_IN_BOTH}],
        API_KEYS_SECRET_ARN=stack.secret_arn,
        MINIMO_API_KEY=None,
        SALES_API_KEY=None,
    )
    [invocation] = run.invocations
    assert invocation["result"]["status"] == "enriched"
    nodes = nodes_of(run.documents, invocation["trace_id"])
    secret_reads = aws_calls(nodes, "GetSecretValue")
    assert secret_reads
    for read in secret_reads:
        assert path_to_root(nodes, read)[0] in ("## minimo lookup", "## sales lookup")
        assert path_to_root(nodes, read)[1:] == [LOOK_UP, "## lambda_handler"]


def test_a_batch_has_one_subsegment_per_lookup_under_one_look_up(
    stack, function_env, xray_daemon, tmp_path
):
    addresses = [FOUND_IN_BOTH, UNKNOWN, "customer@example.com", "supplier@partner.example"]
    run = run_traced(stack, xray_daemon, tmp_path, [sqs_event([{"email": a} for a in addresses])])
    [invocation] = run.invocations
    assert invocation["result"] == {"batchItemFailures": []}
    nodes = nodes_of(run.documents, invocation["trace_id"])
    [look_up] = named(nodes, LOOK_UP)
    for name in ("## minimo lookup", "## sales lookup"):
        lookups = named(nodes, name)
        assert len(lookups) == len(addresses)
        assert {n.parent_id for n in lookups} == {look_up.id}
    assert path_to_root(nodes, look_up) == ["## lambda_handler"]


def test_a_failed_lookup_is_annotated_with_its_error(stack, function_env, xray_daemon, tmp_path):
    stack.minimo.add_faults([{"status": 500}] * 5, email=FAULTY)
    run = run_traced(stack, xray_daemon, tmp_path, [{"email": FAULTY}], LOOKUP_MAX_ATTEMPTS="1")
    [invocation] = run.invocations
    assert invocation["result"]["status"] == "partial"
    nodes = nodes_of(run.documents, invocation["trace_id"])
    [minimo] = named(nodes, "## minimo lookup")
    assert minimo.document["annotations"]["LookupStatus"] == "error"
    assert minimo.document["annotations"]["LookupError"] == "internal_error"


# --- no address in any trace ------------------------------------------------------------------
def spellings(address: str) -> set[str]:
    """The address as a trace could hold it: raw, percent-encoded (as a path segment, a query
    value, a form field), JSON-escaped; compared case-insensitively. The local part alone too:
    what masking keeps is the domain."""
    local_part = address.rpartition("@")[0]
    forms = {address, local_part}
    for text in (address, local_part):
        forms |= {quote(text, safe=""), quote(text, safe="!*'()"), quote_plus(text)}
        forms.add(json.dumps(text)[1:-1])
        forms.add(json.dumps(text, ensure_ascii=False)[1:-1])
    return {form.casefold() for form in forms}


def readings(datagram: str) -> list[str]:
    """A datagram as sent, percent-decoded, and with its JSON escapes decoded."""
    _, _, body = datagram.partition("\n")
    decoded = json.dumps(json.loads(body), ensure_ascii=False)
    return [text.casefold() for text in (datagram, unquote(datagram), decoded, unquote(decoded))]


def leaks(datagrams: list[str], addresses: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    for datagram in datagrams:
        texts = readings(datagram)
        for address in addresses:
            for form in spellings(address):
                if any(form in text for text in texts):
                    found.append((address, form))
    return sorted(set(found))


def test_the_leak_search_finds_every_spelling():
    """The search below is worth what it finds: each spelling of an address in a URL, an
    annotation or metadata is found."""
    for address in ADDRESSES:
        for text in (
            f"https://api.example/contacts/by-email/{quote(address, safe='!*()')}",
            f"https://api.example/find?email={quote_plus(address.upper())}",
            address.upper(),
            json.dumps({"contact": {"email": address}}),
            f"{address.rpartition('@')[0]}@masked.example",
        ):
            datagram = '{"format":"json","version":1}\n' + json.dumps(
                {"id": "1", "name": "x", "metadata": {"default": {"value": text}}}
            )
            assert leaks([datagram], (address,)), text
    masked = '{"format":"json","version":1}\n{"annotations": {"email": "j*****@example.com"}}'
    assert leaks([masked], (FOUND_IN_BOTH,)) == []


def test_no_address_reaches_a_trace(stack, function_env, xray_daemon, tmp_path):
    # Both APIs fail for one address (Minimo answers 500, the sales API resets the connection;
    # both after retries); the others are found, not found, or need encoding in a URL. The first
    # webhook is delivered twice: the second is answered from the idempotency table.
    stack.minimo.add_faults([{"status": 500}] * 10, email=FAULTY)
    stack.sales.add_faults([{"reset": True}] * 10, email=FAULTY)
    webhook = http_api_event({"email": FOUND_IN_BOTH, "name": "Jane"})
    events = [
        webhook,
        webhook,
        http_api_event(
            "email=" + quote_plus(QUOTED) + "&name=Siobhan",
            content_type="application/x-www-form-urlencoded",
        ),
        sqs_event([{"email": a} for a in ADDRESSES]),
        eventbridge_event({"contact": {"email": UNKNOWN}}),
        {"email": FAULTY},  # a direct invoke
    ]
    run = run_traced(stack, xray_daemon, tmp_path, events, IDEMPOTENCY_TABLE=stack.table_name)
    http, again, form, batch, eventbridge, direct = (i["result"] for i in run.invocations)
    assert (status_of(http), status_of(again), status_of(form)) == (202, 202, 202)
    assert json.loads(again["body"]) == json.loads(http["body"])
    duplicate = nodes_of(run.documents, run.invocations[1]["trace_id"])
    assert aws_calls(duplicate, "PutItem")
    assert named(duplicate, "## minimo lookup") == []  # answered from the table
    assert batch == {"batchItemFailures": []}
    assert eventbridge["status"] == "not_found"
    assert direct["status"] == "partial"
    # A trace of every invocation arrived, lookups included: the search below searched them.
    for invocation in run.invocations:
        nodes = nodes_of(run.documents, invocation["trace_id"])
        assert named(nodes, "## lambda_handler")
        assert len(nodes) >= 4
    assert leaks(run.datagrams, ADDRESSES) == []


def test_at_debug_the_xray_sdk_and_botocore_log_no_address_and_no_key(
    stack, function_env, xray_daemon, tmp_path
):
    """With a root handler at DEBUG, as Lambda's runtime has with ApplicationLogLevel=DEBUG or
    TRACE: the X-Ray SDK logs every trace document it sends, botocore every call traced."""
    stack.minimo.add_faults([{"status": 500}] * 10, email=FAULTY)
    log_file = tmp_path / "root.log"
    events = [
        signed_http_event(stack, {"email": FOUND_IN_BOTH, "name": "Jane"}),
        sqs_event([{"email": a} for a in ADDRESSES]),
        {"email": FAULTY},
    ]
    run = run_traced(
        stack,
        xray_daemon,
        tmp_path,
        events,
        ROOT_LOG_FILE=str(log_file),
        API_KEYS_SECRET_ARN=stack.secret_arn,
        MINIMO_API_KEY=None,
        SALES_API_KEY=None,
    )
    assert status_of(run.invocations[0]["result"]) == 202
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    loggers = {r["logger"] for r in records}
    assert any(name.startswith("aws_xray_sdk") for name in loggers)
    assert any("sending a trace document" in r["text"] for r in records)
    texts = [r["text"] for r in records]
    found = [
        (address, form)
        for address in ADDRESSES
        for form in spellings(address)
        for text in texts
        if form in text.casefold() and len(form) > 4
    ]
    assert sorted(set(found)) == []
    for secret in (stack.minimo_api_key, stack.sales_api_key, stack.webhook_secret):
        assert not any(secret in text for text in texts)


def test_no_address_reaches_the_trace_of_a_failed_invocation(
    stack, function_env, xray_daemon, tmp_path
):
    # The output queue does not exist: the handler raises, and the error is recorded.
    events = [eventbridge_event({"email": FOUND_IN_BOTH}), {"email": UNKNOWN}]
    run = run_traced(
        stack, xray_daemon, tmp_path, events, OUTPUT_QUEUE_URL=stack.queue_url + "-missing"
    )
    assert [i["error"] for i in run.invocations] == ["ForwardingFailed", "ForwardingFailed"]
    for invocation in run.invocations:
        nodes = nodes_of(run.documents, invocation["trace_id"])
        [handler] = named(nodes, "## lambda_handler")
        assert handler.document.get("fault") or handler.document.get("error")
        assert named(nodes, "## minimo lookup")
    assert leaks(run.datagrams, (FOUND_IN_BOTH, UNKNOWN)) == []


# --- tracing off, cold starts -----------------------------------------------------------------
def test_with_tracing_off_the_xray_sdk_is_not_even_loaded(
    stack, function_env, xray_daemon, tmp_path
):
    run = run_traced(
        stack,
        xray_daemon,
        tmp_path,
        [http_api_event({"email": FOUND_IN_BOTH}), {"email": UNKNOWN}],
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",  # as `make serve` runs it: the cold start not counted
        IDEMPOTENCY_TABLE=stack.table_name,
    )
    assert '"_aws"' not in run.stdout
    assert status_of(run.invocations[0]["result"]) == 202
    assert run.invocations[1]["result"]["status"] == "not_found"
    # Powertools' disabled Tracer switches the SDK off through its package (aws_xray_sdk and
    # its sdk_config, < 1 ms); the SDK itself (core, recorder, patches) is never imported.
    assert set(run.xray_modules) <= {"aws_xray_sdk", "aws_xray_sdk.sdk_config"}
    assert run.datagrams == []


def test_with_tracing_on_the_sdk_patches_only_the_aws_calls(
    stack, function_env, xray_daemon, tmp_path
):
    run = run_traced(stack, xray_daemon, tmp_path, [{"email": FOUND_IN_BOTH}])
    assert "aws_xray_sdk.ext.botocore.patch" in run.xray_modules
    # requests and http.client would record the URL, which for Minimo holds the address.
    assert "aws_xray_sdk.ext.requests.patch" not in run.xray_modules
    assert "aws_xray_sdk.ext.httplib.patch" not in run.xray_modules


def test_the_cold_start_is_counted_once_and_each_invocation_has_its_own_trace(
    stack, function_env, xray_daemon, tmp_path
):
    run = run_traced(stack, xray_daemon, tmp_path, [{"email": UNKNOWN}, {"email": UNKNOWN}])
    metrics = [json.loads(line) for line in run.stdout.splitlines() if '"_aws"' in line]
    cold_starts = [m for m in metrics if "ColdStart" in m]
    assert len(cold_starts) == 1
    [cold_start] = cold_starts
    assert cold_start["ColdStart"] == [1.0]
    assert cold_start["function_name"] == "webhook-enrichment-EnrichFunction"
    assert cold_start["service"] == "webhook-enrichment"
    [handler_first, handler_second] = (
        named(nodes_of(run.documents, i["trace_id"]), "## lambda_handler")[0]
        for i in run.invocations
    )
    assert handler_first.document["annotations"]["ColdStart"] is True
    assert handler_second.document["annotations"]["ColdStart"] is False
    # The second invocation's lookups ran in the pool threads of the first: each nests under
    # its own invocation's handler, not the one those threads served before.
    for invocation in run.invocations:
        nodes = nodes_of(run.documents, invocation["trace_id"])
        [handler] = named(nodes, "## lambda_handler")
        assert handler.parent_id == invocation["function_segment_id"]
        for lookup in named(nodes, "## minimo lookup") + named(nodes, "## sales lookup"):
            assert path_to_root(nodes, lookup) == [LOOK_UP, "## lambda_handler"]
