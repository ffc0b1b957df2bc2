"""API Gateway (REST v1, HTTP API v2) and Function URL events: which one an event is, held to
the shape AWS gives it. API Gateway and Lambda never send anything else, so an event that only
looks like one (a direct invoke with `requestContext.http` but no method, headers that are not
text) is refused (400) before any field is read, rather than failing on it halfway."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import (
    APIGatewayProxyEvent,
    APIGatewayProxyEventV2,
    LambdaFunctionUrlEvent,
)

from intake.answers import malformed

ProxyEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent


def proxy_event(event: dict[str, Any]) -> ProxyEvent:
    """The event as Powertools reads it; refuses (400) a malformed one."""
    context = event.get("requestContext")
    if "httpMethod" in event:  # REST API (payload 1.0)
        _check(event, method=event.get("httpMethod"), path=event.get("path"), context=context)
        return APIGatewayProxyEvent(event)
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else None
    _check(event, method=method, path=event.get("rawPath"), context=context)
    if not isinstance(context.get("stage"), str):  # type: ignore[union-attr]
        raise malformed("the request event is malformed: it names no stage")
    if ".lambda-url." in str(context.get("domainName", "")):  # type: ignore[union-attr]
        return LambdaFunctionUrlEvent(event)
    return APIGatewayProxyEventV2(event)


def _check(event: dict[str, Any], *, method: Any, path: Any, context: Any) -> None:
    problem = _problem(event, method=method, path=path, context=context)
    if problem:
        raise malformed(f"the request event is malformed: {problem}")


def _problem(event: dict[str, Any], *, method: Any, path: Any, context: Any) -> str | None:
    if not isinstance(context, dict):
        return "requestContext is not an object"
    if not isinstance(method, str) or not method:
        return "it names no HTTP method"
    if not isinstance(path, str):
        return "it names no path"
    if not _text_map(event.get("headers")):
        return "headers are not text"
    if not _text_map(event.get("pathParameters")):
        return "pathParameters are not text"
    if not _text_map(event.get("queryStringParameters")):
        return "queryStringParameters are not text"
    for name in ("multiValueHeaders", "multiValueQueryStringParameters"):
        if not _text_lists(event.get(name)):
            return f"{name} are not lists of text"
    if not isinstance(event.get("rawQueryString"), str | None):
        return "rawQueryString is not text"
    if not isinstance(context.get("domainName"), str | None):
        return "requestContext.domainName is not text"
    if not isinstance(event.get("body"), str | None):
        return "the body is not text"
    if not isinstance(event.get("isBase64Encoded"), bool | None):
        return "isBase64Encoded is not true or false"
    return None


def _text_lists(value: Any) -> bool:
    """None, or an object of lists of text (a REST API's repeated headers and parameters)."""
    return value is None or (
        isinstance(value, dict)
        and all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in value.values())
    )


def _text_map(value: Any) -> bool:
    """None, or an object of text values (API Gateway joins repeated headers with commas)."""
    return value is None or (
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    )
