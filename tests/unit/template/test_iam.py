"""IAM: every grant names its resources, and the function may touch only its own."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.unit.template.template_model import (
    EVERYTHING_ON,
    _branches,
    function_environment,
    granted_on,
    policy_statements,
    resources,
    sam_transform,
)

# What AWSXRayDaemonWriteAccess grants. X-Ray has no resource-level permissions: AWS requires "*".
XRAY_WRITE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
}


XRAY_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AWSXRayDaemonWriteAccess$")


PACING_TABLE_ARN = (
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${PacingTableName}"
)


def unscoped_grants(template: dict[str, Any]) -> list[tuple[str, Any]]:
    """Allow statements on "*" or on a wildcard ARN, NotAction/NotResource, and managed policies.

    The one exception is X-Ray's write actions, which AWS only accepts on "*".
    """
    found: list[tuple[str, Any]] = []
    for name, statement in policy_statements(template):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            found.append((name, statement))
            continue
        actions = set(_branches(statement.get("Action", [])))
        if actions and actions <= XRAY_WRITE:
            continue
        targets = list(_branches(statement.get("Resource", "*")))
        if not targets or any(_is_wildcard(target) for target in targets):
            found.append((name, statement))
    for name, role in resources(template, "AWS::IAM::Role").items():
        for arn in _branches(role["Properties"].get("ManagedPolicyArns", [])):
            if not (isinstance(arn, str) and XRAY_MANAGED_POLICY.match(arn)):
                found.append((name, arn))
    return found


# --- IAM ---------------------------------------------------------------------------------------
def test_every_iam_grant_names_its_resources(cfn, deployed):
    assert unscoped_grants(cfn) == []
    for template in deployed.values():
        assert unscoped_grants(template) == []


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:*"},
        {
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:*:${AWS::AccountId}:table/*"},
        },
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "s3:GetObject"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": {"Ref": "IdempotencyTable"}},
    ],
)
def test_the_scoping_check_catches_a_wildcard(sam_template, statement):
    broken = copy.deepcopy(sam_template)
    role = broken["Resources"]["EnrichFunctionRole"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append(statement)
    assert len(unscoped_grants(sam_transform(broken, EVERYTHING_ON))) == 1


def test_the_scoping_check_catches_managed_policies(sam_template):
    broken = copy.deepcopy(sam_template)
    function = broken["Resources"]["EnrichFunction"]["Properties"]
    # SAM's generated role instead of ours: it carries AWSLambdaBasicExecutionRole (logs on "*").
    del function["Role"]
    del broken["Resources"]["EnrichFunctionRole"]
    found = unscoped_grants(sam_transform(broken, EVERYTHING_ON))
    assert any("AWSLambdaBasicExecutionRole" in str(arn) for _, arn in found)


def test_the_function_may_only_touch_its_own_resources(cfn):
    granted: dict[str, list[Any]] = {}
    for role, statement in policy_statements(cfn):
        if role != "EnrichFunctionRole":
            continue
        for action in _branches(statement["Action"]):
            granted.setdefault(action, []).extend(_branches(statement["Resource"]))
    assert granted.pop("sqs:SendMessage") == [
        {"Fn::GetAtt": ["EnrichedEventsQueue", "Arn"]},
        {"Fn::GetAtt": ["FailedInvocationsDLQ", "Arn"]},
        {"Fn::GetAtt": ["IntakeQueue", "Arn"]},  # WebhookMode=queued puts webhooks there
    ]
    assert granted.pop("secretsmanager:GetSecretValue") == [
        {"Ref": "ApiKeysSecret"},
        {"Ref": "ApiKeysSecretArn"},
        {"Ref": "IntakeSigningSecret"},  # WebhookMode=queued signs what it queues
    ]
    idempotency = {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    pacing = [
        {"Fn::GetAtt": ["PacingTable", "Arn"]},
        {"Fn::Sub": PACING_TABLE_ARN},  # PacingTableName: a table another stack shares
    ]
    # Batch*: the answers kept for intake records waiting out an outage (partial_answers.py).
    for action in ("PutItem", "DeleteItem", "BatchGetItem", "BatchWriteItem"):
        assert granted.pop(f"dynamodb:{action}") == [idempotency]
    for action in ("GetItem", "UpdateItem"):  # the pacer reads and books, nothing else
        assert granted.pop(f"dynamodb:{action}") == [idempotency, *pacing]
    for action in (
        "ReceiveMessage",
        "DeleteMessage",
        "ChangeMessageVisibility",
        "GetQueueAttributes",
    ):
        assert granted.pop(f"sqs:{action}") == [{"Fn::GetAtt": ["IntakeQueue", "Arn"]}]
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        [log_streams] = granted.pop(action)
        assert "${EnrichFunctionLogGroup}:log-stream:*" in log_streams["Fn::Sub"]
    assert set(granted) <= XRAY_WRITE, "nothing else"


def test_the_intake_permissions_exist_only_with_the_intake_queue(deployed):
    for name, template in deployed.items():
        actions = {a for _, s in policy_statements(template) for a in _branches(s["Action"])}
        assert ("sqs:ReceiveMessage" in actions) == ("IntakeQueue" in template["Resources"]), name


def test_lambda_permissions_are_scoped_to_their_source(everything):
    for name, permission in resources(everything, "AWS::Lambda::Permission").items():
        props = permission["Properties"]
        if props["Principal"] == "*":  # the public Function URL: only through the URL
            assert props.get("FunctionUrlAuthType") == "NONE" or props.get(
                "InvokedViaFunctionUrl"
            ), name
        else:
            assert "SourceArn" in props, name


def test_codedeploy_may_only_shift_this_alias(cfn):
    role = cfn["Resources"]["CodeDeployRole"]["Properties"]
    assert "ManagedPolicyArns" not in role  # not the managed policies, which name no resource
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    granted = {
        action: list(_branches(statement["Resource"]))
        for name, statement in policy_statements(cfn)
        if name == "CodeDeployRole"
        for action in _branches(statement["Action"])
    }
    assert set(granted) == {
        "lambda:GetAlias",
        "lambda:UpdateAlias",
        "lambda:GetProvisionedConcurrencyConfig",
        "cloudwatch:DescribeAlarms",
    }
    function_name = cfn["Resources"]["EnrichFunction"]["Properties"]["FunctionName"]["Fn::Sub"]
    for action in ("lambda:GetAlias", "lambda:UpdateAlias"):
        arns = [arn["Fn::Sub"] for arn in granted[action]]
        assert all(arn.split(":function:")[1].startswith(function_name) for arn in arns)
        assert any(arn.endswith(":live") for arn in arns)
    assert granted["cloudwatch:DescribeAlarms"] == [
        {"Fn::GetAtt": ["FunctionErrorsAlarm", "Arn"]},
        {"Fn::GetAtt": ["ForwardFailuresAlarm", "Arn"]},
    ]
    assert not [r for r in cfn["Resources"] if r.startswith("CodeDeployServiceRole")]


# A named log group's own streams: the only wildcard a logs statement needs.
_LOG_STREAMS = re.compile(r":log-group:[^*:]+:log-stream:\*$")


def _is_wildcard(resource: Any) -> bool:
    """A resource that is "*", or an ARN with a wildcard anywhere but its log-stream part."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        resource = text if isinstance(text, str) else text[0]
    elif isinstance(resource, dict) and "Fn::Join" in resource:
        resource = "x".join(p for p in resource["Fn::Join"][1] if isinstance(p, str))
    if isinstance(resource, str):
        return "*" in _LOG_STREAMS.sub("", resource) or "?" in resource
    return False  # Ref / Fn::GetAtt: one concrete resource


def test_queued_mode_signs_with_a_generated_key_only_the_function_reads(deployed):
    queued = deployed["queued"]
    secret = queued["Resources"]["IntakeSigningSecret"]["Properties"]
    # A generated value of its own, not a field of the API-keys secret (whose generated field,
    # the webhook secret, form tools hold too).
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32
    assert "SecretStringTemplate" not in secret["GenerateSecretString"]
    environment = function_environment(queued)
    assert environment["INTAKE_SIGNING_SECRET_ARN"] == {"Ref": "IntakeSigningSecret"}
    assert {"Ref": "IntakeSigningSecret"} in granted_on(queued, "secretsmanager:GetSecretValue")
    readers = [
        name
        for name, template in deployed.items()
        for role, statement in policy_statements(template)
        if {"Ref": "IntakeSigningSecret"} in _branches(statement.get("Resource"))
    ]
    assert set(readers) == {"queued"}  # and in it, only the function's role
    assert queued["Outputs"]["IntakeSigningSecretArn"]["Value"] == {"Ref": "IntakeSigningSecret"}
