"""API Gateway (REST v1, HTTP API v2) and Function URL events: which one an event is, held to
the shape AWS gives it. API Gateway and Lambda never send anything else, so an event that only
looks like one (a direct invoke with `requestContext.http` but no method, headers that are not
text) is refused (400) before any field is read, rather than failing on it halfway.

Once held to that shape, the few fields the HTTP intake reads are read here, as Powertools'
APIGatewayProxyEvent and APIGatewayProxyEventV2 read them (a Function URL event is a v2 one).
Not through those classes: their package loads every event type Powertools knows (about 15 ms of
a cold start, measured with `python -X importtime`), and a webhook needs one.
"""

from __future__ import annotations

from typing import Any

from intake.answers import malformed


class ProxyRequest:
    """What the HTTP intake reads of a proxy event. `headers` has lower-case names, as
    Powertools' CaseInsensitiveDict keeps them; `route` is the path as sent (v2: rawPath, stage
    included), `path` the path below the stage (v2: rawPath without "/<stage>" unless the stage
    is `$default`, as Powertools' APIGatewayProxyEventV2.path)."""

    __slots__ = (
        "body",
        "headers",
        "http_method",
        "is_base64_encoded",
        "multi_value_headers",
        "path",
        "path_parameters",
        "raw_event",
        "request_context",
        "route",
    )

    def __init__(self, event: dict[str, Any], *, http_method: str, route: str, path: str) -> None:
        self.raw_event = event
        self.http_method = http_method
        self.route = route
        self.path = path
        self.body: str | None = event.get("body")
        self.is_base64_encoded = bool(event.get("isBase64Encoded"))
        self.headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        self.multi_value_headers: dict[str, list[str]] = event.get("multiValueHeaders") or {}
        self.path_parameters: dict[str, str] = event.get("pathParameters") or {}
        self.request_context: dict[str, Any] = event["requestContext"]


def proxy_event(event: dict[str, Any]) -> ProxyRequest:
    """The event's request; refuses (400) a malformed one."""
    context = event.get("requestContext")
    if "httpMethod" in event:  # REST API (payload 1.0)
        _check(event, method=event.get("httpMethod"), path=event.get("path"), context=context)
        return ProxyRequest(
            event, http_method=event["httpMethod"], route=event["path"], path=event["path"]
        )
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else None
    _check(event, method=method, path=event.get("rawPath"), context=context)
    stage = event["requestContext"].get("stage")
    if not isinstance(stage, str):
        raise malformed("the request event is malformed: it names no stage")
    raw_path = event["rawPath"]
    path = raw_path if stage == "$default" else raw_path[len("/" + stage) :]
    return ProxyRequest(event, http_method=str(method), route=raw_path, path=path)


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
