"""template.yaml as CloudFormation sees it: after the SAM transform, with every optional feature on.

No AWS account and no SAM CLI: the template is read with cfn-lint's loader (it knows !Ref, !Sub,
...) and transformed offline with aws-sam-translator. SAM leaves Conditions to CloudFormation, so
`effective()` then applies them for a set of parameter values, as CloudFormation would.

The checks are functions of a template, so that tests can prove each one fails on a template that
breaks it: a check that cannot fail is no check.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import cfn_yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from settings import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
FUNCTION_DIR = ROOT / "functions" / "enrich"
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"

# Read only by local runs: deployed, the keys and the webhook secret come from Secrets Manager.
LOCAL_ONLY = {
    "MINIMO_API_KEY",
    "SALES_API_KEY",
    "WEBHOOK_SECRET",
    "WEBHOOK_SECRETS",
    "INTAKE_SIGNING_KEY",
}
# What AWSXRayDaemonWriteAccess grants. X-Ray has no resource-level permissions: AWS requires "*".
XRAY_WRITE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
}
XRAY_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AWSXRayDaemonWriteAccess$")
SERVICE = "webhook-enrichment"
NAMESPACE = "WebhookEnrichment"
PACING_TABLE_ARN = (
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${PacingTableName}"
)

REQUIRED = {"SalesApiBaseUrl": "https://sales.example.com"}
EVERYTHING_ON = {
    **REQUIRED,
    "EnableFunctionUrl": "true",
    "IntakeQueueEnabled": "true",
    "EventBusName": "forms",
    "AlarmEmail": "ops@example.com",
    "ReservedConcurrency": "20",
}
PARAMETER_SETS = {
    "defaults": REQUIRED,
    "everything-standard": {**EVERYTHING_ON, "FifoOutput": "false"},
    "everything-fifo": {**EVERYTHING_ON, "FifoOutput": "true"},
    "existing-secret": {
        **REQUIRED,
        "ApiKeysSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keys-AbCdEf",
    },
    "queued": {**REQUIRED, "WebhookMode": "queued"},
    "shared-pacing": {**REQUIRED, "PacingTableName": "shared-pacing"},
}


# --- loading and transforming ------------------------------------------------------------------
def load_sam_template() -> dict[str, Any]:
    return cfn_yaml.load(str(ROOT / "template.yaml"))


def sam_transform(sam_template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The SAM transform, offline: no managed-policy lookups (the template must need none)."""
    packaged = copy.deepcopy(sam_template)
    # What `sam package` does: local code paths become S3 locations.
    for resource in packaged["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://artifacts/{props[key].strip('/')}.zip"
    translator = Translator(
        managed_policy_map={},
        sam_parser=Parser(),
        boto_session=boto3.session.Session(region_name="eu-west-1"),
    )
    return translator.translate(packaged, parameter_values=dict(parameters))


class Intrinsics:
    """Ref, Fn::Equals/Not/And/Or/Contains and Condition, as CloudFormation evaluates them for these
    parameter values (the template's defaults for the rest)."""

    def __init__(self, cfn: dict[str, Any], parameters: dict[str, str]) -> None:
        self.values = {
            name: str(spec.get("Default", "")) for name, spec in cfn["Parameters"].items()
        }
        self.values.update(parameters)
        self.conditions_defined = cfn.get("Conditions", {})
        self.conditions: dict[str, bool] = {}

    def evaluate(self, expr: Any) -> Any:
        if not (isinstance(expr, dict) and len(expr) == 1):
            return expr
        [(key, arg)] = expr.items()
        if key == "Ref":
            return self.values[arg]
        if key == "Fn::Equals":
            return str(self.evaluate(arg[0])) == str(self.evaluate(arg[1]))
        if key == "Fn::Not":
            return not self.evaluate(arg[0])
        if key == "Fn::And":
            return all(self.evaluate(a) for a in arg)
        if key == "Fn::Or":
            return any(self.evaluate(a) for a in arg)
        if key == "Fn::Contains":  # Rules only: is the value one of the list's strings
            return str(self.evaluate(arg[1])) in [str(self.evaluate(v)) for v in arg[0]]
        if key == "Condition":
            return self.condition(arg)
        raise AssertionError(f"{key} is not evaluated here")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.evaluate(self.conditions_defined[name]))
        return self.conditions[name]


def effective(cfn: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template CloudFormation would deploy: conditions applied, AWS::NoValue removed."""
    condition = Intrinsics(cfn, parameters).condition

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, if_true, if_false = node["Fn::If"]
                return resolve(if_true if condition(name) else if_false)
            out = {k: resolve(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v != {"Ref": "AWS::NoValue"}}
        if isinstance(node, list):
            return [item for item in map(resolve, node) if item != {"Ref": "AWS::NoValue"}]
        return node

    result = copy.deepcopy(cfn)
    for section in ("Resources", "Outputs"):
        result[section] = {
            name: resolve(body)
            for name, body in result.get(section, {}).items()
            if "Condition" not in body or condition(body["Condition"])
        }
    return result


@pytest.fixture(scope="module")
def sam_template() -> dict[str, Any]:
    return load_sam_template()


@pytest.fixture(scope="module")
def transformed(sam_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: sam_transform(sam_template, p) for name, p in PARAMETER_SETS.items()}


@pytest.fixture(scope="module")
def cfn(transformed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Transformed, every Fn::If branch still in place (what the policy checks look at)."""
    return transformed["everything-standard"]


@pytest.fixture(scope="module")
def deployed(transformed: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: effective(transformed[name], p) for name, p in PARAMETER_SETS.items()}


@pytest.fixture(scope="module")
def everything(deployed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return deployed["everything-standard"]


# --- checks ------------------------------------------------------------------------------------
def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def policy_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy, each Fn::If branch included."""
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [
                policy["PolicyDocument"] for policy in _branches(props.get("Policies", []))
            ]
        elif resource["Type"] in (
            "AWS::IAM::Policy",
            "AWS::IAM::RolePolicy",
            "AWS::IAM::ManagedPolicy",
        ):
            documents = [props["PolicyDocument"]]
        for document in documents:
            for statement in _branches(document["Statement"]):
                yield name, statement


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


def documented_variables() -> set[str]:
    """The environment variables of docs/configuration.md's table (first column)."""
    names: set[str] = set()
    for line in CONFIGURATION_DOC.read_text().splitlines():
        if line.startswith("|"):
            first_cell = line.split("|")[1]
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def settings_variables(known: set[str]) -> set[str]:
    """ALL_CAPS string literals in settings.py that name a known or a Powertools variable."""
    path = FUNCTION_DIR / "settings.py"
    if not path.exists():
        return set()
    literals = {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", node.value)
    }
    return {
        name
        for name in literals
        if name in known or name.startswith("POWERTOOLS_") or name == "LOG_LEVEL"
    }


def environment_reads(source: str) -> set[str]:
    """Names in os.environ[...], os.environ.get(...), os.getenv(...) (also via `from os import`)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and _reads_environment(node.func):
            names |= _constant_strings(node.args[0])
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            names |= _constant_strings(node.slice)
    return names


def variables_the_function_needs() -> set[str]:
    known = documented_variables()
    names = known | settings_variables(known) | set(ENVIRONMENT_VARIABLES)
    for path in FUNCTION_DIR.rglob("*.py"):
        names |= environment_reads(path.read_text())
    return {n for n in names if not n.startswith("AWS_")} - LOCAL_ONLY


def metric_names_in_code() -> set[str]:
    """CamelCase string constants of observability.py: the metric names the function emits."""
    source = (FUNCTION_DIR / "platform_services" / "observability.py").read_text()
    return {
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"(?:[A-Z][a-z]+)+", node.value)
    }


def alarmed_metrics(template: dict[str, Any]) -> dict[str, set[str]]:
    """Alarm logical id -> the metric names it watches."""
    watched: dict[str, set[str]] = {}
    for name, alarm in resources(template, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        names = {props["MetricName"]} if "MetricName" in props else set()
        names |= {
            m["MetricStat"]["Metric"]["MetricName"]
            for m in props.get("Metrics", [])
            if "MetricStat" in m
        }
        watched[name] = names
    return watched


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


# --- alarms, logs, dashboard -------------------------------------------------------------------
def test_alarms_cover_dead_letters_errors_throttles_and_lookups(everything):
    watched = alarmed_metrics(everything)
    everything_watched = set().union(*watched.values())
    assert {
        "Errors",
        "Throttles",
        "Duration",
        "ApproximateAgeOfOldestMessage",
        "MinimoLookupErrors",
        "SalesLookupErrors",
        "LookupConfigErrors",
        "ForwardFailures",
    } <= everything_watched
    alarms = resources(everything, "AWS::CloudWatch::Alarm")
    dead_letter_queues = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in alarms.values()
        if alarm["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
    }
    assert dead_letter_queues == {"EnrichedEventsDLQ", "FailedInvocationsDLQ", "IntakeDLQ"}
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_the_lookup_error_rate_alarm_is_errors_over_lookups(everything):
    props = everything["Resources"]["LookupErrorRateAlarm"]["Properties"]
    metrics = {m["Id"]: m for m in props["Metrics"]}
    stats = {i: m["MetricStat"] for i, m in metrics.items() if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in stats.values()} == {
        "MinimoLookups",
        "SalesLookups",
        "MinimoLookupErrors",
        "SalesLookupErrors",
    }
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == NAMESPACE
        assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
        assert stat["Period"] == 300
        assert stat["Stat"] == "Sum"
    [returned] = [m for m in metrics.values() if m.get("ReturnData")]
    assert "/" in returned["Expression"]
    assert props["Threshold"] == 10
    assert props["ComparisonOperator"] == "GreaterThanThreshold"
    config = everything["Resources"]["LookupConfigErrorsAlarm"]["Properties"]
    assert (config["Threshold"], config["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )


def test_alarms_watch_metrics_the_code_emits_with_the_service_dimension(everything):
    emitted = metric_names_in_code()
    for name, alarm in resources(everything, "AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        stats = [props] + [
            m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m
        ]
        for stat in stats:
            if stat.get("Namespace") == NAMESPACE:
                assert stat["MetricName"] in emitted, name
                assert stat["Dimensions"] == [{"Name": "service", "Value": SERVICE}], name
    variables = everything["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == SERVICE
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE


def test_the_alarm_topic_emails_only_when_asked(deployed):
    assert "AlarmEmailSubscription" not in deployed["defaults"]["Resources"]
    subscription = deployed["everything-standard"]["Resources"]["AlarmEmailSubscription"]
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert "AlarmTopic" in deployed["defaults"]["Resources"]


def test_log_groups_have_retention(everything):
    groups = resources(everything, "AWS::Logs::LogGroup")
    assert set(groups) == {"EnrichFunctionLogGroup", "HttpApiAccessLogGroup"}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    function = everything["Resources"]["EnrichFunction"]["Properties"]
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "EnrichFunctionLogGroup"}
    name = groups["EnrichFunctionLogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]
    assert name == "/aws/lambda/" + function["FunctionName"]["Fn::Sub"]


def test_the_dashboard_is_valid_json_with_the_event_metrics(deployed):
    for template in deployed.values():
        body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        text, variables = (body, {}) if isinstance(body, str) else body
        for name, value in variables.items():
            text = text.replace(
                f"${{{name}}}", value["Fn::Sub"] if isinstance(value, dict) else value
            )
        dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "x", text))
        shown = {m[1] for w in dashboard["widgets"] for m in w["properties"]["metrics"]}
        assert {
            "EventsReceived",
            "EventsForwarded",
            "EventsEnriched",
            "EventsNotFound",
            "EventsPartial",
            "EventsNoEmail",
            "MinimoLookupErrors",
            "SalesLookupErrors",
            "Duration",
            "ApproximateNumberOfMessagesVisible",
        } <= shown
        assert shown - {
            "Duration",
            "Errors",
            "Throttles",
            "ApproximateNumberOfMessagesVisible",
            "ApproximateAgeOfOldestMessage",
        } <= (metric_names_in_code())


# --- the function ------------------------------------------------------------------------------
def test_the_function(everything):
    function = everything["Resources"]["EnrichFunction"]["Properties"]
    assert function["Handler"] == "app.lambda_handler"
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 15
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    [layer] = function["Layers"]
    assert layer["Ref"].startswith("DependenciesLayer")  # SAM suffixes a content hash


def test_reserved_concurrency_is_off_by_default(deployed):
    function = deployed["defaults"]["Resources"]["EnrichFunction"]["Properties"]
    assert "ReservedConcurrentExecutions" not in function


def test_the_function_environment_covers_what_the_code_reads(deployed):
    needed = variables_the_function_needs()
    assert {"OUTPUT_QUEUE_URL", "SALES_API_BASE_URL", "API_KEYS_SECRET_ARN"} <= needed
    for template in deployed.values():
        variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        assert sorted(needed - set(variables)) == []
        assert not LOCAL_ONLY & set(variables), "keys belong in Secrets Manager"


def test_the_function_environment_covers_the_readme_table(everything):
    names = documented_variables()
    assert len(names) >= 15, "the table was not found"
    variables = everything["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert sorted(names - LOCAL_ONLY - set(variables)) == []


def test_every_variable_the_code_reads_is_documented():
    assert sorted(set(ENVIRONMENT_VARIABLES) - documented_variables()) == []


def test_the_environment_scan_sees_direct_reads():
    source = (
        "import os\nfrom os import environ, getenv\n"
        'os.environ.get("A_VAR")\nos.getenv("B_VAR")\nos.environ["C_VAR"]\n'
        'environ.get("D_VAR", "x")\ngetenv("E_VAR")\n'
    )
    assert environment_reads(source) == {"A_VAR", "B_VAR", "C_VAR", "D_VAR", "E_VAR"}


def test_the_secret(deployed):
    created = deployed["defaults"]["Resources"]["ApiKeysSecret"]["Properties"]
    generated = created["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "webhook_secret"
    assert set(json.loads(generated["SecretStringTemplate"])) == {"minimo_api_key", "sales_api_key"}
    existing = deployed["existing-secret"]
    assert "ApiKeysSecret" not in existing["Resources"]
    variables = existing["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["API_KEYS_SECRET_ARN"] == {"Ref": "ApiKeysSecretArn"}


def test_the_idempotency_table(everything):
    table = everything["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("parameters", ["defaults", "everything-standard", "queued"])
def test_the_pacing_table_is_the_idempotency_tables_shape_and_paces_the_fleet(deployed, parameters):
    template = deployed[parameters]
    table = template["Resources"]["PacingTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "S"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PACING_TABLE"] == {"Ref": "PacingTable"}


def test_an_existing_pacing_table_is_used_instead_of_a_new_one(deployed):
    shared = deployed["shared-pacing"]
    assert "PacingTable" not in shared["Resources"]
    variables = shared["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PACING_TABLE"] == {"Ref": "PacingTableName"}
    [grant] = [
        s
        for _, s in policy_statements(shared)
        if "dynamodb:UpdateItem" in _branches(s["Action"]) and s.get("Sid") == "UsePacingTable"
    ]
    assert grant["Resource"] == {"Fn::Sub": PACING_TABLE_ARN}
    assert sorted(grant["Action"]) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]


@pytest.mark.parametrize(
    ("parameters", "containers"),
    [
        ("defaults", {"Ref": "IntakeMaximumConcurrency"}),
        ("everything-standard", {"Ref": "ReservedConcurrency"}),
    ],
)
def test_the_fallback_rate_divides_by_the_most_containers_that_can_run(
    deployed, parameters, containers
):
    """Without the table, each container paces itself at the rate over this many: the reserved
    concurrency when there is one, else the intake mapping's MaximumConcurrency."""
    function = deployed[parameters]["Resources"]["EnrichFunction"]["Properties"]
    assert function["Environment"]["Variables"]["PACING_FALLBACK_CONTAINERS"] == containers


def test_the_webhook_route(everything):
    routes = resources(everything, "AWS::ApiGatewayV2::Route")
    if routes:
        assert [r["Properties"]["RouteKey"] for r in routes.values()] == [
            "POST /webhooks/{provider}"
        ]
    else:  # SAM expresses HttpApi routes in the API's OpenAPI body
        [api] = resources(everything, "AWS::ApiGatewayV2::Api").values()
        paths = api["Properties"]["Body"]["paths"]
        assert list(paths) == ["/webhooks/{provider}"]
        assert list(paths["/webhooks/{provider}"]) == ["post"]
    [stage] = resources(everything, "AWS::ApiGatewayV2::Stage").values()
    assert "DestinationArn" in stage["Properties"]["AccessLogSettings"]
    throttling = stage["Properties"]["DefaultRouteSettings"]
    assert throttling["ThrottlingBurstLimit"] > 0
    assert throttling["ThrottlingRateLimit"] > 0


def test_the_function_url_is_public_only_when_enabled(deployed):
    [url] = resources(deployed["everything-standard"], "AWS::Lambda::Url").values()
    assert url["Properties"]["AuthType"] == "NONE"
    assert not resources(deployed["defaults"], "AWS::Lambda::Url")
    assert not [
        p
        for p in resources(deployed["defaults"], "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "*"
    ]


def test_the_outputs(deployed):
    always = {
        "WebhookUrl",
        "FunctionArn",
        "OutputQueueUrl",
        "OutputQueueArn",
        "DeadLetterQueueUrl",
        "IdempotencyTableName",
        "ApiKeysSecretArn",
        "AlarmTopicArn",
        "DashboardName",
    }
    assert set(deployed["defaults"]["Outputs"]) >= always
    assert not {"FunctionUrl", "IntakeQueueUrl"} & set(deployed["defaults"]["Outputs"])
    assert set(deployed["everything-standard"]["Outputs"]) >= always | {
        "FunctionUrl",
        "IntakeQueueUrl",
    }
    url = deployed["defaults"]["Outputs"]["WebhookUrl"]["Value"]["Fn::Sub"]
    assert url.endswith("/webhooks/{provider}")


def test_the_dependencies_layer_is_built_for_arm64_python313(sam_template):
    layer = sam_template["Resources"]["DependenciesLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    props = layer["Properties"]
    assert props["ContentUri"] == "layers/dependencies/"
    assert props["CompatibleRuntimes"] == ["python3.13"]
    assert props["CompatibleArchitectures"] == ["arm64"]
    assert (
        sam_template["Resources"]["EnrichFunction"]["Properties"]["CodeUri"] == "functions/enrich/"
    )


# --- safe deploys: the live alias, gradual shifts, rollback ---------------------------------------
ALIAS = {"Ref": "EnrichFunctionAliaslive"}


def sources_off_the_alias(template: dict[str, Any]) -> list[str]:
    """Every event source, invoke permission and the Function URL that does not target the alias."""
    off: list[str] = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        kind = resource["Type"]
        if kind in ("AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping"):
            target = props["FunctionName"]
        elif kind == "AWS::Lambda::Url":
            target = props["TargetFunctionArn"]
        elif kind == "AWS::Events::Rule":
            target = [t["Arn"] for t in props["Targets"]]
            target = target[0] if len(target) == 1 else target
        elif kind == "AWS::ApiGatewayV2::Api" and "Body" in props:
            integrations = [
                operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                for path in props["Body"]["paths"].values()
                for operation in path.values()
            ]
            target = ALIAS if all("${EnrichFunctionAliaslive}" in i for i in integrations) else None
        elif kind == "AWS::Lambda::EventInvokeConfig":
            target = ALIAS if props.get("Qualifier") == "live" else None
        else:
            continue
        if target != ALIAS:
            off.append(name)
    return sorted(off)


def test_every_source_calls_the_live_alias(deployed):
    for name, template in deployed.items():
        assert sources_off_the_alias(template) == [], name
    everything = deployed["everything-standard"]
    kinds = {everything["Resources"][n]["Type"] for n in everything["Resources"]}
    assert {
        "AWS::Lambda::Url",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Events::Rule",
        "AWS::Lambda::EventInvokeConfig",
    } <= kinds
    assert everything["Outputs"]["FunctionArn"]["Value"] == ALIAS
    [alias] = resources(everything, "AWS::Lambda::Alias").values()
    assert alias["Properties"]["Name"] == "live"


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ("IntakeEventSourceMapping", "FunctionName"),
        ("EnrichFunctionUrl", "TargetFunctionArn"),
        ("FormSubmittedRulePermission", "FunctionName"),
    ],
)
def test_the_alias_check_catches_latest(everything, resource, field):
    broken = copy.deepcopy(everything)
    broken["Resources"][resource]["Properties"][field] = {"Ref": "EnrichFunction"}
    assert sources_off_the_alias(broken) == [resource]


def test_every_property_change_publishes_a_version(sam_template):
    function = sam_template["Resources"]["EnrichFunction"]["Properties"]
    assert function["AutoPublishAlias"] == "live"
    # Otherwise only a code change publishes one, and a changed setting never reaches the alias.
    assert function["AutoPublishAliasAllProperties"] is True


def test_deployments_shift_gradually_and_roll_back_on_the_alarms(sam_template, deployed):
    default_type = sam_template["Parameters"]["DeploymentType"]["Default"]
    assert default_type.startswith(("Canary", "Linear"))
    for name, template in deployed.items():
        [group] = resources(template, "AWS::CodeDeploy::DeploymentGroup").values()
        props = group["Properties"]
        config = props["DeploymentConfigName"]["Fn::Sub"]
        assert config[0] == "CodeDeployDefault.Lambda${ConfigName}", name
        assert config[1]["ConfigName"] == default_type, name
        assert props["AlarmConfiguration"] == {
            "Enabled": True,
            "Alarms": [
                {"Name": {"Ref": "FunctionErrorsAlarm"}},
                {"Name": {"Ref": "ForwardFailuresAlarm"}},
            ],
        }
        assert "DEPLOYMENT_STOP_ON_ALARM" in props["AutoRollbackConfiguration"]["Events"]
        assert props["ServiceRoleArn"] == {"Fn::GetAtt": ["CodeDeployRole", "Arn"]}
        [alias] = resources(template, "AWS::Lambda::Alias").values()
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        assert update["DeploymentGroupName"] == {
            "Ref": next(iter(resources(template, "AWS::CodeDeploy::DeploymentGroup")))
        }
    watched = alarmed_metrics(deployed["defaults"])
    assert watched["FunctionErrorsAlarm"] == {"Errors"}
    assert watched["ForwardFailuresAlarm"] == {"ForwardFailures"}


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


@pytest.mark.parametrize(
    ("enabled", "apply_on"), [("false", "None"), ("true", "PublishedVersions")]
)
def test_snapstart_only_when_asked(sam_template, enabled, apply_on):
    parameters = {**REQUIRED, "EnableSnapStart": enabled}
    template = effective(sam_transform(sam_template, parameters), parameters)
    function = template["Resources"]["EnrichFunction"]["Properties"]
    assert function["SnapStart"] == {"ApplyOn": apply_on}
    assert sam_template["Parameters"]["EnableSnapStart"]["Default"] == "false"


# --- logs ---------------------------------------------------------------------------------------
def test_platform_and_application_logs_are_json_with_levels_as_parameters(sam_template, deployed):
    parameters = sam_template["Parameters"]
    for template in deployed.values():
        function = template["Resources"]["EnrichFunction"]["Properties"]
        assert function["LoggingConfig"] == {
            "LogGroup": {"Ref": "EnrichFunctionLogGroup"},
            "LogFormat": "JSON",
            "ApplicationLogLevel": {"Ref": "ApplicationLogLevel"},
            "SystemLogLevel": {"Ref": "SystemLogLevel"},
        }
        # Powertools takes its level from Lambda (AWS_LAMBDA_LOG_LEVEL); nothing may disagree.
        variables = function["Environment"]["Variables"]
        assert not {"LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"} & set(variables)
    assert parameters["ApplicationLogLevel"]["Default"] == "INFO"
    assert set(parameters["SystemLogLevel"]["AllowedValues"]) <= {"DEBUG", "INFO", "WARN"}
    # EMF metric lines carry no level: Lambda files them as INFO and drops them above INFO, and
    # every alarm on a custom metric would go blind.
    assert set(parameters["ApplicationLogLevel"]["AllowedValues"]) <= {"TRACE", "DEBUG", "INFO"}


# --- the public Function URL ---------------------------------------------------------------------
def rule_failures(template: dict[str, Any], parameters: dict[str, str]) -> list[str]:
    """The Rules CloudFormation would refuse a deployment with, for these parameter values."""
    evaluate = Intrinsics(template, parameters).evaluate

    return sorted(
        name
        for name, rule in template.get("Rules", {}).items()
        if evaluate(rule.get("RuleCondition", True))
        and not all(evaluate(a["Assert"]) for a in rule["Assertions"])
    )


@pytest.mark.parametrize(
    ("parameters", "refused"),
    [
        (REQUIRED, False),
        ({**REQUIRED, "EnableFunctionUrl": "true"}, True),
        ({**REQUIRED, "EnableFunctionUrl": "true", "ReservedConcurrency": "50"}, False),
        ({**REQUIRED, "EnableFunctionUrl": "true", "ReservedConcurrency": "0"}, False),
        ({**REQUIRED, "ReservedConcurrency": "50"}, False),
        (EVERYTHING_ON, False),
    ],
)
def test_the_function_url_needs_reserved_concurrency(transformed, parameters, refused):
    failures = rule_failures(transformed["defaults"], parameters)
    assert failures == (["FunctionUrlNeedsReservedConcurrency"] if refused else [])
    if not refused and parameters.get("EnableFunctionUrl") == "true":
        template = effective(transformed["defaults"], parameters)
        function = template["Resources"]["EnrichFunction"]["Properties"]
        assert function["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}


# --- signatures ----------------------------------------------------------------------------------
def test_signature_checks_are_on_unless_a_parameter_turns_them_off(sam_template, deployed):
    from settings import Settings

    parameter = sam_template["Parameters"]["AllowUnsignedWebhooks"]
    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]
    for name, template in deployed.items():
        variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"][
            "Variables"
        ]
        assert variables["ALLOW_UNSIGNED_WEBHOOKS"] == {"Ref": "AllowUnsignedWebhooks"}, name
        assert variables["SIGNATURE_ROUTES"] == {"Ref": "SignatureRoutes"}, name
        assert variables["SIGNATURE_SCHEME"] == {"Ref": "SignatureScheme"}, name
    # What the function makes of the template's defaults: signatures required.
    defaults = {
        "OUTPUT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
        "SALES_API_BASE_URL": "https://sales.example.com",
        "ALLOW_UNSIGNED_WEBHOOKS": parameter["Default"],
        "SIGNATURE_SCHEME": sam_template["Parameters"]["SignatureScheme"]["Default"],
        "SIGNATURE_ROUTES": sam_template["Parameters"]["SignatureRoutes"]["Default"],
    }
    settings = Settings.from_env(defaults)
    assert settings.allow_unsigned_webhooks is False
    assert settings.signature_routes == ()


@pytest.mark.parametrize(
    ("value", "template_accepts", "function_accepts"),
    [
        ("", True, True),
        ("contact-form=tally", True, True),
        ("contact-form=tally,typeform=standard-webhooks", True, True),
        ("a=auto", False, False),
        ("tally", False, False),
        ("a=tally,A=github", True, False),  # one provider twice: only the function can tell
        ("a=tally,", False, True),  # the function ignores the empty item
    ],
)
def test_signature_routes_parameter_agrees_with_the_function(
    sam_template, value, template_accepts, function_accepts
):
    """Nothing CloudFormation accepts for SignatureRoutes stops the function, but a duplicate."""
    from settings import ConfigurationError, Settings

    pattern = sam_template["Parameters"]["SignatureRoutes"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is template_accepts
    env = {"OUTPUT_QUEUE_URL": "q", "SALES_API_BASE_URL": "s", "SIGNATURE_ROUTES": value}
    if function_accepts:
        Settings.from_env(env)
    else:
        with pytest.raises(ConfigurationError, match="SIGNATURE_ROUTES"):
            Settings.from_env(env)


def test_the_template_offers_every_scheme_the_function_knows(sam_template):
    from settings import ROUTE_SIGNATURE_SCHEMES, SIGNATURE_SCHEMES

    parameters = sam_template["Parameters"]
    assert parameters["SignatureScheme"]["AllowedValues"] == list(SIGNATURE_SCHEMES)
    pattern = parameters["SignatureRoutes"]["AllowedPattern"]
    for scheme in ROUTE_SIGNATURE_SCHEMES:
        assert re.fullmatch(pattern, f"jotform={scheme},a.b~c={scheme}"), scheme


@pytest.mark.parametrize(
    ("value", "template_accepts", "function_accepts"),
    [
        ("", True, True),
        ("https://hooks.example.com", True, True),
        ("https://hooks.example.com/forms/", True, True),
        ("https://hooks.example.com:8443/a/b", True, True),
        ("http://127.0.0.1:3000", False, True),  # local runs only
        ("https://hooks.example.com/forms?x=1", False, False),
        ("hooks.example.com/forms", False, False),
        ("https://hooks example.com", False, False),
    ],
)
def test_webhook_base_url_parameter_agrees_with_the_function(
    sam_template, deployed, value, template_accepts, function_accepts
):
    from settings import ConfigurationError, Settings

    pattern = sam_template["Parameters"]["WebhookBaseUrl"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is template_accepts
    env = {"OUTPUT_QUEUE_URL": "q", "SALES_API_BASE_URL": "s", "WEBHOOK_BASE_URL": value}
    if function_accepts:
        Settings.from_env(env)
    else:
        with pytest.raises(ConfigurationError, match="WEBHOOK_BASE_URL"):
            Settings.from_env(env)
    for template in deployed.values():
        variables = template["Resources"]["EnrichFunction"]["Properties"]["Environment"]
        assert variables["Variables"]["WEBHOOK_BASE_URL"] == {"Ref": "WebhookBaseUrl"}


# What the access log may hold: none of these carries the query string or a request header but
# User-Agent (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables).
ACCESS_LOG_VARIABLES = {
    "$context.requestId",
    "$context.identity.sourceIp",
    "$context.requestTime",
    "$context.httpMethod",
    "$context.routeKey",
    "$context.path",
    "$context.status",
    "$context.protocol",
    "$context.responseLength",
    "$context.identity.userAgent",
    "$context.integrationStatus",
    "$context.integrationLatency",
    "$context.integrationErrorMessage",
}


def access_log_leaks(template: dict[str, Any]) -> set[str]:
    """Variables in the HTTP API's access log format outside ACCESS_LOG_VARIABLES."""
    [stage] = resources(template, "AWS::ApiGatewayV2::Stage").values()
    log_format = stage["Properties"]["AccessLogSettings"]["Format"]
    return set(re.findall(r"\$[A-Za-z.]+", log_format)) - ACCESS_LOG_VARIABLES


def test_no_token_reaches_the_access_log(everything):
    assert access_log_leaks(everything) == set()
    leaky = copy.deepcopy(everything)
    [stage] = resources(leaky, "AWS::ApiGatewayV2::Stage").values()
    stage["Properties"]["AccessLogSettings"]["Format"] += ',"auth":"$request.header.authorization"'
    assert access_log_leaks(leaky) == {"$request.header.authorization"}


# --- alarms on time ------------------------------------------------------------------------------
def test_an_alarm_fires_at_80_percent_of_the_timeout(everything):
    timeout_ms = everything["Resources"]["EnrichFunction"]["Properties"]["Timeout"] * 1000
    [alarm] = [
        a["Properties"]
        for a in resources(everything, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Duration"
    ]
    assert alarm["Namespace"] == "AWS/Lambda"
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "EnrichFunction"}}]
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Threshold"] == 0.8 * timeout_ms
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def _age_alarms(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for name, a in resources(template, "AWS::CloudWatch::Alarm").items()
        if "ApproximateAgeOfOldestMessage" in alarmed_metrics(template)[name]
    ]


def test_an_alarm_watches_the_intake_queues_oldest_message(deployed):
    assert _age_alarms(deployed["defaults"]) == []
    [alarm] = _age_alarms(deployed["everything-standard"])
    [age] = [m for m in alarm["Metrics"] if "MetricStat" in m]
    assert age["MetricStat"]["Metric"]["Namespace"] == "AWS/SQS"
    assert age["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["IntakeQueue", "QueueName"]}}
    ]
    assert age["MetricStat"]["Stat"] == "Maximum"
    assert age["ReturnData"] is False
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


@pytest.mark.parametrize(
    ("window", "age", "fires"),
    [(900, 1199, False), (900, 1200, True), (0, 300, True), (0, 299, False)],
)
def test_the_intake_age_alarm_allows_the_retry_window(deployed, window, age, fires):
    """Records waiting out an outage are old by design, up to LookupRetryWindowSeconds: the
    alarm fires 5 minutes past the window (5 minutes, as before, with the window at 0)."""
    [alarm] = _age_alarms(deployed["everything-standard"])
    [expression] = [m for m in alarm["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True
    [age_id] = [m["Id"] for m in alarm["Metrics"] if "MetricStat" in m]
    # The one expression it may be: the age less the window parameter.
    match = re.fullmatch(
        r"(\w+) - \$\{LookupRetryWindowSeconds\}", expression["Expression"]["Fn::Sub"]
    )
    assert match is not None
    assert match.group(1) == age_id
    value = age - window
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (value >= alarm["Threshold"]) is fires


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


def test_the_dashboard_shows_records_waiting_woken_and_the_oldest(deployed):
    body = deployed["everything-standard"]["Resources"]["Dashboard"]["Properties"]
    text = json.dumps(body["DashboardBody"])
    waiting = ("RecordsWaiting", "RecordsWoken", "OldestWaitingAge")
    for metric in (*waiting, "ApproximateAgeOfOldestMessage"):
        assert metric in text, metric


# --- helpers -----------------------------------------------------------------------------------
def _branches(value: Any) -> Iterator[Any]:
    """Every value an Fn::If could produce, lists flattened; AWS::NoValue dropped."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict) and set(item) == {"Fn::If"}:
            yield from _branches(item["Fn::If"][1])
            yield from _branches(item["Fn::If"][2])
        elif item != {"Ref": "AWS::NoValue"}:
            yield item


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


def _reads_environment(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value):
        return True
    if isinstance(func, ast.Attribute) and func.attr == "getenv":
        return True
    return isinstance(func, ast.Name) and func.id == "getenv"


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _constant_strings(node: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    return set()


# --- webhook modes --------------------------------------------------------------------------------
def function_environment(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]["EnrichFunction"]["Properties"]["Environment"]["Variables"]


def granted_on(template: dict[str, Any], action: str) -> list[Any]:
    return [
        resource
        for role, statement in policy_statements(template)
        if role == "EnrichFunctionRole" and action in _branches(statement["Action"])
        for resource in _branches(statement["Resource"])
    ]


def test_queued_mode_puts_webhooks_on_the_intake_queue(deployed):
    queued = deployed["queued"]
    assert "IntakeQueue" in queued["Resources"]  # though IntakeQueueEnabled is false
    assert "IntakeEventSourceMapping" in queued["Resources"]
    assert function_environment(queued)["INTAKE_QUEUE_URL"] == {"Ref": "IntakeQueue"}
    assert {"Fn::GetAtt": ["IntakeQueue", "Arn"]} in granted_on(queued, "sqs:SendMessage")


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


@pytest.mark.parametrize("name", ["defaults", "everything-standard"])
def test_direct_mode_leaves_the_intake_queue_to_its_own_producers(deployed, name):
    template = deployed[name]
    assert function_environment(template)["INTAKE_QUEUE_URL"] == ""
    assert function_environment(template)["INTAKE_SIGNING_SECRET_ARN"] == ""
    assert "IntakeSigningSecret" not in template["Resources"]
    assert {"Fn::GetAtt": ["IntakeQueue", "Arn"]} not in granted_on(template, "sqs:SendMessage")
    assert ("IntakeQueue" in template["Resources"]) == (name == "everything-standard")


def test_every_number_parameter_stays_within_what_the_function_accepts(deployed):
    """A value the template allows never stops the function at start (settings.NUMBER_RANGES)."""
    from settings import NUMBER_RANGES

    template = deployed["everything-standard"]
    environment = function_environment(template)
    checked = []
    for variable, allowed in NUMBER_RANGES.items():
        value = environment[variable]
        if variable == "PACING_FALLBACK_CONTAINERS":  # ReservedConcurrency when it is set
            assert value == {"Ref": "ReservedConcurrency"}, value  # everything-standard sets it
            parameter = template["Parameters"]["ReservedConcurrency"]
            # -1 (unreserved) picks IntakeMaximumConcurrency instead; 0 runs nothing at all.
            assert parameter["MaxValue"] <= allowed.maximum, variable
            parameter = template["Parameters"]["IntakeMaximumConcurrency"]
        else:
            parameter = template["Parameters"][value["Ref"]]
        assert parameter["Type"] == "Number", variable
        assert allowed.minimum <= parameter["MinValue"] <= parameter["MaxValue"], variable
        assert parameter["MaxValue"] <= allowed.maximum, variable
        assert parameter["MinValue"] <= parameter["Default"] <= parameter["MaxValue"], variable
        checked.append(variable)
    assert len(checked) == len(NUMBER_RANGES)
