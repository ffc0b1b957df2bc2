"""Alarms, the dashboard and the logs: what is watched, on which metrics, what is never logged."""

from __future__ import annotations

import ast
import copy
import json
import re
from typing import Any

import pytest

from tests.unit.template.template_model import FUNCTION_DIR, resources

SERVICE = "webhook-enrichment"


NAMESPACE = "WebhookEnrichment"


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


def test_the_dashboard_shows_records_waiting_woken_and_the_oldest(deployed):
    body = deployed["everything-standard"]["Resources"]["Dashboard"]["Properties"]
    text = json.dumps(body["DashboardBody"])
    waiting = ("RecordsWaiting", "RecordsWoken", "OldestWaitingAge")
    for metric in (*waiting, "ApproximateAgeOfOldestMessage"):
        assert metric in text, metric
