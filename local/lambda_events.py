"""Builds Lambda events the way AWS shapes them, for tests, the demo, serve and the benchmarks."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/")


def http_api_event(
    body: bytes | str | dict | list,
    *,
    provider: str = "website",
    content_type: str | None = "application/json",
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str | None = None,
    base64_encode: bool | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2.0) event for `POST /webhooks/{provider}`.

    Like API Gateway, the body is base64-encoded unless it is text (override with base64_encode).
    """
    raw = _raw(body)
    all_headers = {"host": f"abcdef1234.execute-api.{REGION}.amazonaws.com", "user-agent": "test"}
    if content_type is not None:
        all_headers["content-type"] = content_type
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    # API Gateway passes text through and base64-encodes the rest; bytes that are not UTF-8
    # can only ever arrive encoded.
    encode = base64_encode
    if encode is None:
        encode = not (content_type or "").startswith(TEXT_TYPES)
    encode = encode or not _is_utf8(raw)
    path = path or f"/webhooks/{provider}"
    return {
        "version": "2.0",
        "routeKey": "POST /webhooks/{provider}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abcdef1234",
            "domainName": f"abcdef1234.execute-api.{REGION}.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": all_headers["user-agent"],
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": "POST /webhooks/{provider}",
            "stage": "$default",
            "timeEpoch": int(time.time() * 1000),
        },
        "pathParameters": {"provider": provider},
        "body": base64.b64encode(raw).decode() if encode else raw.decode(),
        "isBase64Encoded": encode,
    }


def function_url_event(body: bytes | str | dict | list, **kwargs: Any) -> dict[str, Any]:
    event = http_api_event(body, **kwargs)
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    event["requestContext"]["domainName"] = f"a1b2c3d4e5f6.lambda-url.{REGION}.on.aws"
    del event["pathParameters"]
    return event


def rest_api_event(
    body: bytes | str | dict | list,
    *,
    provider: str = "website",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    base64_encode: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event."""
    raw = _raw(body)
    all_headers = {"Content-Type": content_type, "Host": "a1b2c3d4e5.execute-api.amazonaws.com"}
    all_headers.update(headers or {})
    return {
        "resource": "/webhooks/{provider}",
        "path": f"/webhooks/{provider}",
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"provider": provider},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "resourcePath": "/webhooks/{provider}",
            "httpMethod": "POST",
            "stage": "prod",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": base64.b64encode(raw).decode() if base64_encode else raw.decode(),
        "isBase64Encoded": base64_encode,
    }


def eventbridge_event(
    detail: dict[str, Any],
    *,
    event_id: str | None = None,
    source: str = "forms.website",
    detail_type: str = "form.submitted",
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def sqs_record(body: str | dict | list, *, message_id: str | None = None) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    now_ms = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now_ms,
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": now_ms,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:webhook-intake",
        "awsRegion": REGION,
    }


def sqs_event(bodies: list[str | dict | list]) -> dict[str, Any]:
    return {"Records": [sqs_record(body) for body in bodies]}


def _raw(body: bytes | str | dict | list) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True
