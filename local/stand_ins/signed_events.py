"""Signs an API Gateway or Function URL event file the way its form tool signs the request, for
`make demo`, `make send SIGN=...` and the tests. The samples in events/ are committed unsigned
(no secret, no stale timestamp): they are signed at run time with the local secrets.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from local.stand_ins import webhook_signing

# How each tool proves itself (its route label → its scheme, and whether a token travels in a
# header rather than the URL). Any other label signs with Standard Webhooks.
TOOLS: dict[str, tuple[str, bool]] = {
    "typeform": ("typeform", False),
    "tally": ("tally", False),
    "github": ("github", False),
    "hubspot": ("hubspot", False),
    "webflow": ("webflow", False),
    "formstack": ("formstack", False),
    "wufoo": ("wufoo", False),
    "jotform": ("token", False),  # no custom headers: the URL
    "paperform": ("token", False),  # "include it in the webhook URL's query string"
    "cognito-forms": ("token", False),  # the endpoint URL only
    "fillout": ("token", True),
    "zoho-forms": ("token", True),
    "gravity-forms": ("token", True),
    "wpforms": ("token", True),
    "google-forms": ("token", True),  # an Apps Script sets the header
    "microsoft-forms": ("token", True),  # Power Automate's HTTP action
    "zapier": ("token", True),
}
STANDARD = "standard-webhooks"
# `make send SIGN=...`: a scheme, `bearer` (the token as Authorization: Bearer), or `auto` (the
# way the event's own tool proves itself, by its route).
SIGN_CHOICES = (
    "auto",
    STANDARD,
    "typeform",
    "tally",
    "github",
    "hubspot",
    "webflow",
    "formstack",
    "wufoo",
    "token",
    "bearer",
)
_TOKEN_IN_QUERY = re.compile(r"(?i)((?:^|[?&])token=)[^&#]*")


def shown(target: str) -> str:
    """A URL or path with query to print: a token's value replaced by ***."""
    return _TOKEN_IN_QUERY.sub(r"\1***", target)


def resolve(sign: str, provider: str) -> tuple[str, bool]:
    """SIGN's value → (scheme, token in a header)."""
    if sign == "auto":
        return tool_scheme(provider)
    if sign == "bearer":
        return "token", True
    return sign, False


def provider_of(event: dict[str, Any]) -> str:
    path = event.get("rawPath") or event.get("path") or ""
    provider = (event.get("pathParameters") or {}).get("provider") or path.rstrip("/")
    return str(provider).rsplit("/", 1)[-1].lower()


def tool_scheme(provider: str) -> tuple[str, bool]:
    return TOOLS.get(provider, (STANDARD, False))


def body_of(event: dict[str, Any]) -> bytes:
    body = (event.get("body") or "").encode("utf-8", "surrogatepass")
    return base64.b64decode(body) if event.get("isBase64Encoded") else body


def event_url(event: dict[str, Any]) -> str:
    """The URL an event was sent to, as the sender saw it: https://<domain><path as sent>?query."""
    context = event.get("requestContext") or {}
    if "httpMethod" in event:
        path = context.get("path") or event.get("path") or "/"
        pairs = [
            (name, value)
            for name, values in (event.get("multiValueQueryStringParameters") or {}).items()
            for value in values or ()
        ]
        query = urlencode(pairs, quote_via=quote)
    else:
        path, query = event.get("rawPath") or "/", event.get("rawQueryString") or ""
    url = f"https://{context.get('domainName', '')}{path}"
    return f"{url}?{query}" if query else url


def sign_event(
    event: dict[str, Any],
    scheme: str,
    secret: str,
    *,
    bearer: bool = False,
    url_of: Callable[[dict[str, Any]], str] = event_url,
) -> None:
    """Adds what the sender adds (headers, a query parameter, a body field) to the event, in
    place. `url_of`: the full URL the request goes to (make send's, when not the event's host)."""
    if scheme == "token" and not bearer:
        _add_query(event, {"token": secret})
    body = body_of(event)
    method = _method(event)
    msg_id = _delivery_id(event, body)
    signed = webhook_signing.sign_request(
        scheme, secret, method, url_of(event), body, msg_id, bearer=bearer
    )
    if signed.body is not None:
        _set_body(event, signed.body)
    _add_headers(event, signed.headers)


def _method(event: dict[str, Any]) -> str:
    if "httpMethod" in event:
        return str(event["httpMethod"]).upper()
    return str(event["requestContext"]["http"]["method"]).upper()


def _delivery_id(event: dict[str, Any], body: bytes) -> str:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    msg_id = headers.get("webhook-id") or headers.get("idempotency-key")
    return msg_id or "msg_" + hashlib.sha256(body).hexdigest()[:26]


def _add_headers(event: dict[str, Any], headers: dict[str, str]) -> None:
    if "httpMethod" in event:  # REST API (v1): headers as sent, and their multi-value twins
        event["headers"].update(headers)
        event.setdefault("multiValueHeaders", {}).update({k: [v] for k, v in headers.items()})
    else:  # HTTP API and Function URL (v2): lower-case names
        event["headers"].update({k.lower(): v for k, v in headers.items()})


def _add_query(event: dict[str, Any], parameters: dict[str, str]) -> None:
    if "httpMethod" in event:
        single = event.get("queryStringParameters") or {}
        multi = event.get("multiValueQueryStringParameters") or {}
        for name, value in parameters.items():
            single[name] = value
            multi.setdefault(name, []).append(value)
        event["queryStringParameters"], event["multiValueQueryStringParameters"] = single, multi
        return
    raw = event.get("rawQueryString") or ""
    added = urlencode(parameters, quote_via=quote)
    event["rawQueryString"] = f"{raw}&{added}" if raw else added
    single = event.get("queryStringParameters") or {}
    for name, value in parameters.items():  # payload 2.0 joins repeated names with commas
        single[name] = f"{single[name]},{value}" if name in single else value
    event["queryStringParameters"] = single


def _set_body(event: dict[str, Any], body: bytes) -> None:
    if event.get("isBase64Encoded"):
        event["body"] = base64.b64encode(body).decode()
    else:
        event["body"] = body.decode("utf-8", "surrogatepass")
    for name in list(event.get("headers") or {}):
        if name.lower() == "content-length":
            event["headers"][name] = str(len(body))
