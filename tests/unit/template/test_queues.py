"""The queues: encrypted, TLS only, dead letters wired, FIFO on demand, the intake batches."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.unit.template.template_model import (
    REQUIRED,
    _branches,
    function_environment,
    granted_on,
    resources,
)
from tests.unit.template.test_parameters import rule_failures


def unencrypted_queues(template: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, queue in resources(template, "AWS::SQS::Queue").items()
        if queue.get("Properties", {}).get("SqsManagedSseEnabled") is not True
        and "KmsMasterKeyId" not in queue.get("Properties", {})
    )


def queues_without_tls_policy(template: dict[str, Any]) -> list[str]:
    guarded: set[str] = set()
    for policy in resources(template, "AWS::SQS::QueuePolicy").values():
        props = policy["Properties"]
        for statement in _branches(props["PolicyDocument"]["Statement"]):
            if (
                statement.get("Effect") == "Deny"
                and statement.get("Principal") == "*"
                and statement.get("Action") in ("sqs:*", ["sqs:*"])
                and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            ):
                guarded.update(queue["Ref"] for queue in _branches(props["Queues"]))
    return sorted(set(resources(template, "AWS::SQS::Queue")) - guarded)


# --- queues ------------------------------------------------------------------------------------
def test_every_queue_is_encrypted(deployed):
    for template in deployed.values():
        assert unencrypted_queues(template) == []
    broken = copy.deepcopy(deployed["everything-standard"])
    broken["Resources"]["EnrichedEventsQueue"]["Properties"].pop("SqsManagedSseEnabled")
    assert unencrypted_queues(broken) == ["EnrichedEventsQueue"]


def test_every_queue_refuses_plain_http(deployed):
    for template in deployed.values():
        assert queues_without_tls_policy(template) == []
    broken = copy.deepcopy(deployed["everything-standard"])
    del broken["Resources"]["EnrichedEventsQueuesPolicy"]
    assert queues_without_tls_policy(broken) == ["EnrichedEventsDLQ", "EnrichedEventsQueue"]


def test_dead_letter_queues_are_wired(everything):
    queues = resources(everything, "AWS::SQS::Queue")
    assert set(queues) == {
        "EnrichedEventsQueue",
        "EnrichedEventsDLQ",
        "FailedInvocationsDLQ",
        "IntakeQueue",
        "IntakeDLQ",
    }
    receives = {"EnrichedEventsQueue": 5, "IntakeQueue": {"Ref": "IntakeMaxReceiveCount"}}
    for queue, dlq in (("EnrichedEventsQueue", "EnrichedEventsDLQ"), ("IntakeQueue", "IntakeDLQ")):
        redrive = queues[queue]["Properties"]["RedrivePolicy"]
        assert redrive == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
            "maxReceiveCount": receives[queue],
        }
    for queue in queues.values():
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    [invoke_config] = resources(everything, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2
    on_failure = invoke_config["Properties"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["FailedInvocationsDLQ", "Arn"]}
    [rule] = resources(everything, "AWS::Events::Rule").values()
    [target] = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["FailedInvocationsDLQ", "Arn"]}


@pytest.mark.parametrize(
    ("parameters", "fifo"), [("everything-standard", False), ("everything-fifo", True)]
)
def test_fifo_output_makes_the_queue_and_its_dlq_fifo(deployed, parameters, fifo):
    queues = resources(deployed[parameters], "AWS::SQS::Queue")
    for name in ("EnrichedEventsQueue", "EnrichedEventsDLQ"):
        assert queues[name]["Properties"].get("FifoQueue", False) is fifo, name
    output = queues["EnrichedEventsQueue"]["Properties"]
    if fifo:
        assert output["ContentBasedDeduplication"] is False  # MessageDeduplicationId = event_id
    else:
        assert "ContentBasedDeduplication" not in output
    assert output["MaximumMessageSize"] == 1048576
    # Lambda's on-failure destination cannot be a FIFO queue.
    assert "FifoQueue" not in queues["FailedInvocationsDLQ"]["Properties"]
    assert "FifoQueue" not in queues["IntakeQueue"]["Properties"]


def test_optional_sources_exist_only_when_asked_for(deployed):
    optional = {
        "AWS::Lambda::Url",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Events::Rule",
        "AWS::SNS::Subscription",
    }
    assert not {r["Type"] for r in deployed["defaults"]["Resources"].values()} & optional
    assert {r["Type"] for r in deployed["everything-standard"]["Resources"].values()} >= optional
    assert "IntakeQueue" not in deployed["defaults"]["Resources"]


def test_the_intake_queue_is_a_bounded_batch_source(everything):
    [mapping] = resources(everything, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["EventSourceArn"] == {"Fn::GetAtt": ["IntakeQueue", "Arn"]}
    assert props["BatchSize"] == {"Ref": "IntakeBatchSize"}
    assert props["MaximumBatchingWindowInSeconds"] == {"Ref": "IntakeBatchingWindowSeconds"}
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "IntakeMaximumConcurrency"}}
    parameters = everything["Parameters"]
    batch, window = parameters["IntakeBatchSize"], parameters["IntakeBatchingWindowSeconds"]
    assert (batch["Default"], window["Default"]) == (25, 1)
    # SQS's limits for a standard queue's event source mapping: 1-10,000 records, 0-300 s.
    assert 1 <= batch["MinValue"] <= batch["MaxValue"] <= 10_000
    assert 0 <= window["MinValue"] <= window["MaxValue"] <= 300
    timeout = everything["Resources"]["EnrichFunction"]["Properties"]["Timeout"]
    visibility = everything["Resources"]["IntakeQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * timeout + window["MaxValue"]


@pytest.mark.parametrize(
    ("batch", "window", "refused"),
    [("25", "1", False), ("10", "0", False), ("11", "0", True), ("10000", "30", False)],
)
def test_an_intake_batch_over_ten_needs_a_batching_window(transformed, batch, window, refused):
    parameters = {**REQUIRED, "IntakeBatchSize": batch, "IntakeBatchingWindowSeconds": window}
    failures = rule_failures(transformed["defaults"], parameters)
    assert failures == (["IntakeBatchOverTenNeedsAWindow"] if refused else [])


def test_the_retry_window_and_the_receive_count_reach_the_function(deployed):
    """INTAKE_MAX_RECEIVE_COUNT is the intake queue's maxReceiveCount: one parameter sets both."""
    template = deployed["everything-standard"]
    environment = function_environment(template)
    assert environment["LOOKUP_RETRY_WINDOW_SECONDS"] == {"Ref": "LookupRetryWindowSeconds"}
    redrive = template["Resources"]["IntakeQueue"]["Properties"]["RedrivePolicy"]
    assert environment["INTAKE_MAX_RECEIVE_COUNT"] == redrive["maxReceiveCount"]
    parameters = template["Parameters"]
    assert parameters["LookupRetryWindowSeconds"]["Default"] == 900
    assert parameters["IntakeMaxReceiveCount"]["Default"] == 5


def test_queued_mode_puts_webhooks_on_the_intake_queue(deployed):
    queued = deployed["queued"]
    assert "IntakeQueue" in queued["Resources"]  # though IntakeQueueEnabled is false
    assert "IntakeEventSourceMapping" in queued["Resources"]
    assert function_environment(queued)["INTAKE_QUEUE_URL"] == {"Ref": "IntakeQueue"}
    assert {"Fn::GetAtt": ["IntakeQueue", "Arn"]} in granted_on(queued, "sqs:SendMessage")


@pytest.mark.parametrize("name", ["defaults", "everything-standard"])
def test_direct_mode_leaves_the_intake_queue_to_its_own_producers(deployed, name):
    template = deployed[name]
    assert function_environment(template)["INTAKE_QUEUE_URL"] == ""
    assert function_environment(template)["INTAKE_SIGNING_SECRET_ARN"] == ""
    assert "IntakeSigningSecret" not in template["Resources"]
    assert {"Fn::GetAtt": ["IntakeQueue", "Arn"]} not in granted_on(template, "sqs:SendMessage")
    assert ("IntakeQueue" in template["Resources"]) == (name == "everything-standard")
