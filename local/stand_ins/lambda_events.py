"""Builds Lambda events the way AWS shapes them, for tests, the demo, serve and the benchmarks.

The shapes follow AWS's documented payloads (API Gateway "Lambda proxy integration" input formats
1.0 and 2.0, Lambda "Function URL request payload", "Using Lambda with Amazon SQS",
"EventBridge event structure") and are checked against Powertools' parser models in
tests/unit/local/test_lambda_events.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

ACCOUNT = "123456789012"
REGION = "eu-west-1"
HTTP_API_ID = "abcdef1234"
REST_API_ID = "a1b2c3d4e5"
FUNCTION_URL_ID = "a1b2c3d4e5f6g7h8i9j0"
SOURCE_IP = "203.0.113.10"
TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class HttpRequest(TypedDict, total=False):
    """What a test may set on an HTTP API or Function URL request; the rest is as AWS sends it.
    Defaults: provider `website`, content type application/json, POST /webhooks/<provider>, the
    body base64-encoded unless it is text."""

    provider: str
    content_type: str | None
    headers: dict[str, str] | None
    method: str
    path: str | None
    base64_encode: bool | None


@dataclass(frozen=True, slots=True)
class _V2Endpoint:
    """Where a payload 2.0 event comes from."""

    host: str
    api_id: str
    route_key: str
    account: str
    request_id: Callable[[], str]
    provider_in_path: bool  # a {provider} path parameter, as the HTTP API's route has


_HTTP_API = _V2Endpoint(
    host=f"{HTTP_API_ID}.execute-api.{REGION}.amazonaws.com",
    api_id=HTTP_API_ID,
    route_key="POST /webhooks/{provider}",
    account=ACCOUNT,
    request_id=lambda: base64.b64encode(secrets.token_bytes(11)).decode(),  # "Jc1Xyi01DoEEMbQ="
    provider_in_path=True,
)
# With AuthType NONE, AWS puts "anonymous" in `requestContext.accountId`, as the events
# captured in Powertools' own test suite show.
_FUNCTION_URL = _V2Endpoint(
    host=f"{FUNCTION_URL_ID}.lambda-url.{REGION}.on.aws",
    api_id=FUNCTION_URL_ID,
    route_key="$default",
    account="anonymous",
    request_id=lambda: str(uuid.uuid4()),
    provider_in_path=False,
)


def http_api_event(body: bytes | str | dict | list, **request: Unpack[HttpRequest]) -> dict:
    """An API Gateway HTTP API (payload v2.0) event for `POST /webhooks/{provider}`.

    Like API Gateway, the body is base64-encoded unless it is text (override with base64_encode).
    """
    return _v2_event(body, _HTTP_API, request)


def function_url_event(body: bytes | str | dict | list, **request: Unpack[HttpRequest]) -> dict:
    """A Lambda Function URL event (payload v2.0 with `$default` route and stage, no path
    parameters)."""
    return _v2_event(body, _FUNCTION_URL, request)


def rest_api_event(
    body: bytes | str | dict | list,
    *,
    provider: str = "website",
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    base64_encode: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API (v1) proxy event for `POST /webhooks/{provider}` on stage prod."""
    raw = _raw(body)
    host = f"{REST_API_ID}.execute-api.{REGION}.amazonaws.com"
    all_headers = {
        "Content-Type": content_type,
        "Host": host,
        "User-Agent": "test",
        "Content-Length": str(len(raw)),
        "X-Amzn-Trace-Id": _trace_id(),
        "X-Forwarded-For": SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    all_headers.update(headers or {})
    epoch_ms = int(time.time() * 1000)
    path = f"/webhooks/{provider}"
    return {
        "resource": "/webhooks/{provider}",
        "path": path,
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"provider": provider},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": REST_API_ID,
            "domainName": host,
            "domainPrefix": REST_API_ID,
            "extendedRequestId": base64.b64encode(secrets.token_bytes(11)).decode(),
            "httpMethod": "POST",
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": SOURCE_IP,
                "user": None,
                "userAgent": all_headers.get("User-Agent", ""),
                "userArn": None,
            },
            "path": f"/prod{path}",  # REST APIs put the stage in front of the resource path
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTime": _request_time(epoch_ms),
            "requestTimeEpoch": epoch_ms,
            "resourceId": "9xk2lp",
            "resourcePath": "/webhooks/{provider}",
            "stage": "prod",
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
        "receiptHandle": base64.b64encode(secrets.token_bytes(96)).decode(),
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now_ms,
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": now_ms,
        },
        "messageAttributes": {},
        # SQS sends the MD5 of the body; nothing here checks it, but consumers may.
        "md5OfBody": hashlib.md5(text.encode("utf-8", "surrogatepass")).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:webhook-intake",
        "awsRegion": REGION,
    }


def sqs_event(bodies: list[str | dict | list]) -> dict[str, Any]:
    return {"Records": [sqs_record(body) for body in bodies]}


def _v2_event(
    body: bytes | str | dict | list, endpoint: _V2Endpoint, request: HttpRequest
) -> dict[str, Any]:
    provider = request.get("provider", "website")
    content_type = request.get("content_type", "application/json")
    headers, method = request.get("headers"), request.get("method", "POST")
    path = request.get("path") or f"/webhooks/{provider}"
    base64_encode = request.get("base64_encode")
    host, api_id, route_key = endpoint.host, endpoint.api_id, endpoint.route_key
    account, request_id = endpoint.account, endpoint.request_id()
    path_parameters = {"provider": provider} if endpoint.provider_in_path else None
    raw = _raw(body)
    # Payload 2.0 lower-cases every header name.
    all_headers = {
        "host": host,
        "user-agent": "test",
        "content-length": str(len(raw)),
        "x-amzn-trace-id": _trace_id(),
        "x-forwarded-for": SOURCE_IP,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if content_type is not None:
        all_headers["content-type"] = content_type
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    # API Gateway and Function URLs pass text through and base64-encode the rest; bytes that are
    # not UTF-8 can only ever arrive encoded.
    encode = base64_encode
    if encode is None:
        encode = not (content_type or "").startswith(TEXT_TYPES)
    encode = encode or not _is_utf8(raw)
    epoch_ms = int(time.time() * 1000)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "accountId": account,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": api_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": SOURCE_IP,
                "userAgent": all_headers["user-agent"],
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": _request_time(epoch_ms),
            "timeEpoch": epoch_ms,
        },
        "body": base64.b64encode(raw).decode() if encode else raw.decode(),
        "isBase64Encoded": encode,
    }
    if path_parameters is not None:
        event["pathParameters"] = path_parameters
    return event


def _request_time(epoch_ms: int) -> str:
    """API Gateway's CLF time, "22/Nov/2026:10:00:00 +0000" (English month names, any locale)."""
    t = time.gmtime(epoch_ms / 1000)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


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
