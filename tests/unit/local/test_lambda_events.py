"""The events local/stand_ins/lambda_events.py builds, and the samples in events/, have the shape
AWS sends.

Checked twice: against Powertools' parser models (pydantic models of each AWS event, maintained
with Powertools), and against the keys AWS's documentation shows in its example payloads, which
the models leave optional.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    LambdaFunctionUrlModel,
    SqsModel,
)
from pydantic import BaseModel

from local.stand_ins import lambda_events

EVENTS = sorted((Path(__file__).parents[3] / "events").glob("*.json"))

# What AWS's example payloads hold when there is no authorizer, no query string and no cookies:
# API Gateway developer guide, "Create AWS Lambda proxy integrations for HTTP APIs" (format 2.0),
# and "Input format of a Lambda function for proxy integration" (REST, format 1.0); Lambda
# developer guide, "Invoking Lambda function URLs" (request payload).
V2_KEYS = {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext"}
V2_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "routeKey",
    "stage",
    "time",
    "timeEpoch",
}
V2_HTTP_KEYS = {"method", "path", "protocol", "sourceIp", "userAgent"}
V1_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}
V1_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "httpMethod",
    "identity",
    "path",
    "protocol",
    "requestId",
    "requestTime",
    "requestTimeEpoch",
    "resourcePath",
    "stage",
}
SQS_RECORD_KEYS = {
    "messageId",
    "receiptHandle",
    "body",
    "attributes",
    "messageAttributes",
    "md5OfBody",
    "eventSource",
    "eventSourceARN",
    "awsRegion",
}
EVENTBRIDGE_KEYS = {
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
}


def kind_of(event: Any) -> str:
    """Which AWS service shaped the event (told apart by keys only AWS's shape has)."""
    if not isinstance(event, dict):
        return "direct"
    if "Records" in event:
        return "sqs"
    if "detail-type" in event:
        return "eventbridge"
    if "httpMethod" in event:
        return "rest-api"
    if ".lambda-url." in event.get("requestContext", {}).get("domainName", ""):
        return "function-url"
    if event.get("version") == "2.0":
        return "http-api"
    return "direct"


MODELS: dict[str, type[BaseModel]] = {
    "http-api": APIGatewayProxyEventV2Model,
    "function-url": LambdaFunctionUrlModel,
    "rest-api": APIGatewayProxyEventModel,
    "sqs": SqsModel,
    "eventbridge": EventBridgeModel,
}


def check_shape(event: dict[str, Any]) -> str:
    """Raises if the event is not what AWS would send; returns its kind."""
    kind = kind_of(event)
    MODELS[kind].model_validate(event)
    if kind in ("http-api", "function-url"):
        check_v2(event, kind)
    elif kind == "rest-api":
        check_v1(event)
    elif kind == "sqs":
        for record in event["Records"]:
            assert set(record) == SQS_RECORD_KEYS
            assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324
    else:
        assert set(event) >= EVENTBRIDGE_KEYS
    return kind


def check_v2(event: dict[str, Any], kind: str) -> None:
    assert set(event) >= V2_KEYS
    context = event["requestContext"]
    assert set(context) == V2_CONTEXT_KEYS
    assert set(context["http"]) == V2_HTTP_KEYS
    assert context["timeEpoch"] // 1000 == int(clf_time(context["time"]).timestamp())
    assert all(name == name.lower() for name in event["headers"]), "2.0 lower-cases headers"
    assert event["headers"]["host"] == context["domainName"]
    assert context["domainName"].split(".", 1)[0] == context["domainPrefix"] == context["apiId"]
    assert context["http"]["path"] == event["rawPath"]
    check_body(event)
    if kind == "function-url":
        assert context["domainName"].endswith(".on.aws")
        assert context["routeKey"] == context["stage"] == event["routeKey"] == "$default"
        assert event.get("pathParameters") is None
    else:
        assert context["domainName"].endswith(".amazonaws.com")
        assert event["routeKey"] == context["routeKey"] != "$default"


def check_v1(event: dict[str, Any]) -> None:
    assert set(event) == V1_KEYS
    context = event["requestContext"]
    assert set(context) >= V1_CONTEXT_KEYS
    assert context["requestTimeEpoch"] // 1000 == int(clf_time(context["requestTime"]).timestamp())
    assert context["path"] == f"/{context['stage']}{event['path']}"
    assert context["resourcePath"] == event["resource"]
    assert {k: [v] for k, v in event["headers"].items()} == event["multiValueHeaders"]
    check_body(event)


def check_body(event: dict[str, Any]) -> None:
    body = event["body"] or ""
    if event["isBase64Encoded"]:
        base64.b64decode(body, validate=True)
    headers = {k.lower(): v for k, v in event["headers"].items()}
    if "content-length" in headers:
        raw = base64.b64decode(body) if event["isBase64Encoded"] else body.encode()
        assert int(headers["content-length"]) == len(raw)


def clf_time(text: str) -> datetime:
    return datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")


BUILT = {
    "http-api": lambda: lambda_events.http_api_event({"email": "a@example.com"}),
    "http-api-binary": lambda: lambda_events.http_api_event(
        b"\xff\xfe", content_type="application/octet-stream"
    ),
    "http-api-signed": lambda: lambda_events.http_api_event(
        b"{}", headers={"Webhook-Id": "msg_1", "User-Agent": "Svix-Webhooks/1.0"}
    ),
    "function-url": lambda: lambda_events.function_url_event(b"email=a%40example.com"),
    "rest-api": lambda: lambda_events.rest_api_event({"email": "a@example.com"}),
    "rest-api-base64": lambda: lambda_events.rest_api_event(b"{}", base64_encode=True),
    "sqs": lambda: lambda_events.sqs_event([{"email": "a@example.com"}, "not json", "é\u2028"]),
    "eventbridge": lambda: lambda_events.eventbridge_event({"email": "a@example.com"}),
}


@pytest.mark.parametrize("name", BUILT)
def test_the_builders_make_what_aws_sends(name):
    event = BUILT[name]()
    assert check_shape(event) == name.split("-binary")[0].split("-signed")[0].split("-base64")[0]


@pytest.mark.parametrize("path", EVENTS, ids=[p.name for p in EVENTS])
def test_the_sample_events_are_what_aws_sends(path):
    event = json.loads(path.read_text())
    kind = kind_of(event)
    if kind == "direct":
        assert path.name.startswith("direct-")
        return
    assert path.name.split("-")[0] in kind.replace("function-url", "function").split("-")
    check_shape(event)


def test_the_samples_cover_every_source():
    kinds = {kind_of(json.loads(path.read_text())) for path in EVENTS}
    assert kinds == {*MODELS, "direct"}


def test_the_checks_catch_what_the_builders_once_missed():
    v2 = lambda_events.http_api_event({})
    del v2["requestContext"]["time"]
    with pytest.raises(ValueError, match="time"):
        check_shape(v2)
    v1 = lambda_events.rest_api_event({})
    for key in ("apiId", "protocol", "requestTime", "path"):
        broken = json.loads(json.dumps(v1))
        del broken["requestContext"][key]
        with pytest.raises(ValueError, match=key):
            check_shape(broken)
    url = lambda_events.function_url_event({})
    url["pathParameters"] = {"provider": "website"}
    with pytest.raises(AssertionError):
        check_shape(url)
    sqs = lambda_events.sqs_event(["x"])
    sqs["Records"][0]["md5OfBody"] = ""
    with pytest.raises(AssertionError):
        check_shape(sqs)
