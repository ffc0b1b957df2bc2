"""No address in any X-Ray trace (tests/integration/xray_traces.py), in any spelling the leak
search knows, for every source, for failed invocations, and at DEBUG in the X-Ray SDK's and
botocore's own logs."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus, unquote

import pytest

from local.stand_ins.lambda_events import eventbridge_event, http_api_event, sqs_event
from tests.integration.xray_traces import (
    ADDRESSES,
    FAULTY,
    FOUND_IN_BOTH,
    QUOTED,
    UNKNOWN,
    aws_calls,
    named,
    nodes_of,
    run_traced,
    signed_http_event,
    status_of,
)

# Each test runs the handler in a fresh traced process: left out of `make test-fast`.
pytestmark = pytest.mark.slow


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
    # The faulty address's record waits in its queue for the APIs (outage_waits.py); the
    # EventBridge event and the direct invoke go out at once.
    [waiting] = [r["messageId"] for r in events[3]["Records"] if FAULTY in r["body"]]
    assert batch == {"batchItemFailures": [{"itemIdentifier": waiting}]}
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
