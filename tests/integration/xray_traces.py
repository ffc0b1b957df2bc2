"""Running the real handler traced, as Lambda would, and reading its trace.

Each run is a fresh process with tracing on, as deployed (`Tracing: Active`): `traced_lambda.py`
sets what Lambda sets (LAMBDA_TASK_ROOT, a trace header per invocation) and the X-Ray SDK sends
its segments over UDP to AWS_XRAY_DAEMON_ADDRESS, where XRayDaemon stands in for the X-Ray
daemon. Nothing in the function is patched; the lookups go to the sandbox APIs and the AWS calls
to moto, as in every other integration test."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local.stand_ins.lambda_events import http_api_event
from tests import signing
from tests.fresh_process import run_driver

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
    outcomes, stdout = run_driver(DRIVER, events, tmp_path, variables)
    return Run(
        outcomes["invocations"],
        outcomes["xray_modules"],
        stdout,
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
