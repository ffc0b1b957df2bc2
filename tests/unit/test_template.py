"""template.yaml, as CloudFormation will see it after the SAM transform.

The checks are functions of a template, so that the tests below can also prove they fail on a
template that breaks them (a check that cannot fail is no check).
"""

from __future__ import annotations

import ast
import copy
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from cfnlint.decode import cfn_yaml
from samtranslator.translator.transform import transform

from settings import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).parents[2]
FUNCTION_DIR = ROOT / "functions" / "enrich"
# Read only by local runs: deployed, the keys and webhook secret come from Secrets Manager.
LOCAL_ONLY = {"MINIMO_API_KEY", "SALES_API_KEY", "WEBHOOK_SECRET"}
# AWS refuses a resource narrower than "*" for these.
UNSCOPABLE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
PARAMETERS = {"SalesApiBaseUrl": "https://sales.example.com"}


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def sam_template() -> dict[str, Any]:
    return cfn_yaml.load(str(ROOT / "template.yaml"))


@pytest.fixture(scope="module")
def cfn(sam_template: dict[str, Any]) -> dict[str, Any]:
    # The translator fills in pseudo parameters (AWS::Region) from a boto3 session.
    packaged = copy.deepcopy(sam_template)
    # What `sam package` does: local code paths become S3 locations.
    packaged["Resources"]["EnrichFunction"]["Properties"]["CodeUri"] = "s3://artifacts/enrich.zip"
    packaged["Resources"]["DependenciesLayer"]["Properties"]["ContentUri"] = (
        "s3://artifacts/deps.zip"
    )
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": "eu-west-1"}):
        return transform(packaged, PARAMETERS, _NoManagedPolicies())


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# --- checks ---
def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                for statement in _branches(policy["PolicyDocument"]["Statement"]):
                    yield name, statement
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            for statement in _branches(props["PolicyDocument"]["Statement"]):
                yield name, statement


def unscoped_statements(template: dict[str, Any]) -> list[tuple[str, Any]]:
    """Allow statements whose resource is `*` or a wildcard ARN, and managed policies (unscoped)."""
    found = []
    for name, statement in policy_statements(template):
        actions = set(_as_list(statement.get("Action")))
        if statement.get("Effect") != "Allow" or actions <= UNSCOPABLE_ACTIONS:
            continue
        targets = list(_branches(statement.get("Resource", "*")))
        if "NotResource" in statement or any(_is_wildcard(t) for t in targets):
            found.append((name, statement))
    for name, role in resources(template, "AWS::IAM::Role").items():
        found.extend((name, arn) for arn in role["Properties"].get("ManagedPolicyArns", []))
    return found


def unencrypted_queues(template: dict[str, Any]) -> list[str]:
    return [
        name
        for name, queue in resources(template, "AWS::SQS::Queue").items()
        if queue.get("Properties", {}).get("SqsManagedSseEnabled") is not True
        and "KmsMasterKeyId" not in queue.get("Properties", {})
    ]


def queues_without_tls_policy(template: dict[str, Any]) -> list[str]:
    guarded = set()
    for policy in resources(template, "AWS::SQS::QueuePolicy").values():
        props = policy["Properties"]
        for statement in _branches(props["PolicyDocument"]["Statement"]):
            if statement.get("Effect") == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                guarded.update(q["Ref"] for q in props["Queues"])
    return sorted(set(resources(template, "AWS::SQS::Queue")) - guarded)


def environment_variables_read_by_the_code() -> set[str]:
    """settings.ENVIRONMENT_VARIABLES and any direct read of the environment in the function."""
    names = set(ENVIRONMENT_VARIABLES)
    for path in FUNCTION_DIR.glob("*.py"):
        names |= environment_reads(path.read_text())
    return names


def environment_reads(source: str) -> set[str]:
    """Names in os.environ[...], os.environ.get(...) and os.getenv(...)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and _reads_environment(node.func):
            names |= _constant_strings(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
            names |= _constant_strings(node.slice)
    return names


# --- the deployed template ---
def test_every_iam_statement_names_its_resources(cfn):
    assert unscoped_statements(cfn) == []


def test_the_scoping_check_catches_a_wildcard(cfn):
    broken = copy.deepcopy(cfn)
    role = broken["Resources"]["EnrichFunctionRole"]["Properties"]
    role["Policies"][0]["PolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:*:*"}
    )
    assert len(unscoped_statements(broken)) == 1
    role["ManagedPolicyArns"] = ["arn:aws:iam::aws:policy/AmazonSQSFullAccess"]
    assert len(unscoped_statements(broken)) == 2


def test_the_function_may_only_touch_its_own_resources(cfn):
    granted = {}
    for _, statement in policy_statements(cfn):
        for action in _as_list(statement["Action"]):
            granted.setdefault(action, []).extend(_branches(statement["Resource"]))
    assert granted["sqs:SendMessage"] == [
        {"Fn::GetAtt": ["EnrichedEventsQueue", "Arn"]},
        {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]},
    ]
    assert granted["dynamodb:PutItem"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    assert granted["secretsmanager:GetSecretValue"] == [
        {"Ref": "ApiKeysSecret"},
        {"Ref": "ApiKeysSecretArn"},
    ]
    assert granted["sqs:ReceiveMessage"] == [{"Fn::GetAtt": ["IntakeQueue", "Arn"]}]
    assert not any(action.endswith("*") for action in granted)


def test_every_queue_is_encrypted(cfn):
    assert unencrypted_queues(cfn) == []
    broken = copy.deepcopy(cfn)
    broken["Resources"]["EnrichedEventsQueue"]["Properties"].pop("SqsManagedSseEnabled")
    assert unencrypted_queues(broken) == ["EnrichedEventsQueue"]


def test_every_queue_refuses_plain_http(cfn):
    assert queues_without_tls_policy(cfn) == []
    broken = copy.deepcopy(cfn)
    del broken["Resources"]["QueuesTlsOnly"]
    assert "EnrichedEventsQueue" in queues_without_tls_policy(broken)


def test_dead_letter_queues_are_wired(cfn):
    queues = resources(cfn, "AWS::SQS::Queue")
    output = queues["EnrichedEventsQueue"]["Properties"]["RedrivePolicy"]
    assert output["deadLetterTargetArn"] == {"Fn::GetAtt": ["EnrichedEventsDeadLetterQueue", "Arn"]}
    intake = queues["IntakeQueue"]["Properties"]["RedrivePolicy"]
    assert intake["deadLetterTargetArn"] == {"Fn::GetAtt": ["IntakeDeadLetterQueue", "Arn"]}
    [invoke_config] = resources(cfn, "AWS::Lambda::EventInvokeConfig").values()
    on_failure = invoke_config["Properties"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}


def test_alarms_cover_dead_letters_errors_throttles_and_lookups(cfn):
    alarms = resources(cfn, "AWS::CloudWatch::Alarm")
    watched = set()
    for alarm in alarms.values():
        props = alarm["Properties"]
        metrics = [props.get("MetricName")] + [
            m["MetricStat"]["Metric"]["MetricName"]
            for m in props.get("Metrics", [])
            if "MetricStat" in m
        ]
        watched.update(m for m in metrics if m)
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert {
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
        "MinimoLookupErrors",
        "SalesLookupErrors",
        "LookupConfigErrors",
        "ForwardFailures",
    } <= watched
    dead_letter_queues = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    assert dead_letter_queues == {
        "EnrichedEventsDeadLetterQueue",
        "FailedInvocationsQueue",
        "IntakeDeadLetterQueue",
    }


def test_alarms_watch_the_metric_names_the_code_emits(cfn):
    observability = (FUNCTION_DIR / "observability.py").read_text()
    emitted = set(re.findall(r'= "([A-Za-z]+)"', observability)) | set(
        re.findall(r'"\w+": "(Events\w+)"', observability)
    )
    watched = set()
    for alarm in resources(cfn, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") == "WebhookEnrichment":
            watched.add(props["MetricName"])
        for metric in props.get("Metrics", []):
            if "MetricStat" in metric:
                watched.add(metric["MetricStat"]["Metric"]["MetricName"])
    assert watched
    assert watched <= emitted


def test_log_groups_have_retention(cfn):
    groups = resources(cfn, "AWS::Logs::LogGroup")
    assert set(groups) >= {"FunctionLogGroup", "ApiAccessLogGroup"}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_function(cfn):
    function = cfn["Resources"]["EnrichFunction"]["Properties"]
    assert function["Handler"] == "app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "FunctionLogGroup"}
    [layer] = function["Layers"]
    assert layer["Ref"].startswith("DependenciesLayer")  # SAM suffixes a content hash


def test_the_function_environment_covers_what_the_code_reads(cfn):
    variables = cfn["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    needed = environment_variables_read_by_the_code() - LOCAL_ONLY
    assert needed, "the scan found no environment variables"
    assert sorted(needed - set(variables)) == []
    assert not LOCAL_ONLY & set(variables), "keys belong in Secrets Manager, not the environment"


def test_the_environment_scan_sees_direct_reads():
    source = 'import os\nos.environ.get("A_VAR")\nos.getenv("B_VAR")\nos.environ["C_VAR"]\n'
    assert environment_reads(source) == {"A_VAR", "B_VAR", "C_VAR"}


def test_the_webhook_route(cfn):
    routes = resources(cfn, "AWS::ApiGatewayV2::Route")
    if routes:
        assert [r["Properties"]["RouteKey"] for r in routes.values()] == [
            "POST /webhooks/{provider}"
        ]
    else:  # SAM expresses HttpApi routes in the API's OpenAPI body
        [api] = resources(cfn, "AWS::ApiGatewayV2::Api").values()
        paths = api["Properties"]["Body"]["paths"]
        assert list(paths) == ["/webhooks/{provider}"]
        assert list(paths["/webhooks/{provider}"]) == ["post"]


def test_the_intake_queue_is_a_bounded_batch_source(cfn):
    [mapping] = resources(cfn, "AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "IntakeMaximumConcurrency"}}
    timeout = cfn["Resources"]["EnrichFunction"]["Properties"]["Timeout"]
    visibility = cfn["Resources"]["IntakeQueue"]["Properties"]["VisibilityTimeout"]
    assert visibility >= 6 * timeout


def test_the_dependencies_layer_is_built_for_arm64_python313(sam_template):
    layer = sam_template["Resources"]["DependenciesLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["ContentUri"] == "layers/dependencies/"


# --- helpers ---
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _branches(value: Any) -> Iterator[Any]:
    """Every value an Fn::If could produce, lists flattened; AWS::NoValue dropped."""
    for item in _as_list(value):
        if isinstance(item, dict) and "Fn::If" in item:
            yield from _branches(item["Fn::If"][1])
            yield from _branches(item["Fn::If"][2])
        elif item != {"Ref": "AWS::NoValue"}:
            yield item


def _is_wildcard(resource: Any) -> bool:
    if isinstance(resource, str):
        return "*" in resource
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        return "*" in (text if isinstance(text, str) else text[0])
    return False


def _reads_environment(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute) and func.attr == "get" and _is_os_environ(func.value):
        return True
    return isinstance(func, ast.Attribute) and func.attr == "getenv"


def _is_os_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _constant_strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()
