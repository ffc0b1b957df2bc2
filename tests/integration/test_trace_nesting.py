"""X-Ray traces of real invocations (tests/integration/xray_traces.py): what nests where, a
failed lookup's annotation, the SDK not even loaded with tracing off, and the cold start."""

from __future__ import annotations

import json

import pytest

from local.stand_ins.lambda_events import http_api_event, sqs_event
from tests.integration.xray_traces import (
    CLAIM,
    FAULTY,
    FOUND_IN_BOTH,
    LOOK_UP,
    SEND,
    SETTLE,
    UNKNOWN,
    aws_calls,
    named,
    nodes_of,
    path_to_root,
    run_traced,
    signed_http_event,
    status_of,
)

# Each test runs the handler in a fresh traced process: left out of `make test-fast`.
pytestmark = pytest.mark.slow


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
