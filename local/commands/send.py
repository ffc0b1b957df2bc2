"""`make send EVENT=events/<file>.json`: replays the HTTP request inside an API Gateway or
Function URL event file (method, path, query, headers, body, base64) to a running `make serve`,
as the sender did. A captured event replays byte for byte, so a signed webhook still verifies.

With --sign (make send SIGN=...), the request is signed just before it is sent, the way that
scheme's tool signs it, with the secret in $WEBHOOK_SIGNING_SECRET (never printed): so a sample
reaches a deployed stack signed, e.g.
    WEBHOOK_SIGNING_SECRET=... make send EVENT=events/http-api-hubspot.json \
        URL=https://abc123.execute-api.eu-west-1.amazonaws.com SIGN=hubspot
URL may also be the stack's WebhookUrl output as printed (.../webhooks/{provider}).

Prints the answer; exits 1 on a 5xx answer (what a sender would retry), on a 404 (the event's
path is not a webhook route, so the function never saw it) or when nothing listens, 2 when the
file is missing, not JSON or not an HTTP event, or the secret is not set. A 4xx from the
function itself is its answer, not a failure: exit 0.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

import requests

from local.commands import event_files
from local.stand_ins import signed_events

DEFAULT_PORT = 3000  # as `make serve`'s
SECRET_VARIABLE = "WEBHOOK_SIGNING_SECRET"  # noqa: S105 (a name, not a secret)
# Set by the HTTP client for the body it sends, or by API Gateway itself on the way in.
_NOT_REPLAYED = frozenset({"host", "content-length", "connection", "transfer-encoding"})
_SHOWN_HEADERS = ("retry-after",)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes


def main(argv: list[str] | None = None) -> int:
    parser = event_files.command_parser("send", __doc__)
    parser.add_argument(
        "--port", help=f"where `make serve` listens (default: $PORT or {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--url",
        help="another base URL to send to, e.g. a deployed stack's WebhookUrl"
        " (default: http://127.0.0.1:PORT)",
    )
    parser.add_argument(
        "--sign",
        choices=signed_events.SIGN_CHOICES,
        help=f"sign the request as this scheme's tool does, with ${SECRET_VARIABLE}; `auto`:"
        " the way the event's own tool does (by its route), `bearer`: the token as a header",
    )
    args = parser.parse_args(argv)
    if not args.event:
        return event_files.no_event_file("send")
    port = args.port or os.environ.get("PORT") or str(DEFAULT_PORT)
    if not args.url and not port.isdigit():
        print(f"error: the port must be a number, not {port!r}", file=sys.stderr)
        return 2
    base_url = _base_url(args.url or f"http://127.0.0.1:{port}")
    try:
        path, event = event_files.load(args.event)
        request = http_request(event)
        signed = _sign(event, args.sign, base_url) if args.sign else ""
        request = http_request(event)
    except event_files.EventFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    target = signed_events.shown(f"{base_url}{request.path}")
    print(f"{request.method} {target}  ({event_files.shown(path)}){signed}", flush=True)
    try:
        answer = requests.request(
            request.method,
            base_url + request.path,
            headers=request.headers,
            data=request.body,
            timeout=60,  # longer than the function's own deadline for its lookups
        )
    except requests.ConnectionError:
        print(
            f"error: nothing answers at {base_url}. Start the function first, in another terminal:"
            f" {_serve_command(port, args.url)}",
            file=sys.stderr,
        )
        return 1
    except requests.Timeout:
        print(f"error: {base_url} did not answer within 60 s", file=sys.stderr)
        return 1
    except requests.RequestException as exc:  # e.g. a --url that is not a URL
        print(f"error: cannot send to {base_url}: {exc}", file=sys.stderr)
        return 2
    reason = _reason(answer.status_code)
    print(f"{answer.status_code} {reason}".rstrip())
    for name in _SHOWN_HEADERS:
        if name in answer.headers:
            print(f"{name}: {answer.headers[name]}")
    print(answer.text)
    if answer.status_code == 404:
        print(
            f"error: {request.path.split('?')[0]} is not a webhook route, so the function never"
            " saw the request: webhooks go to POST /webhooks/<provider>. Set the event's rawPath"
            " (or path, for a REST API event) to one.",
            file=sys.stderr,
        )
        return 1
    return 1 if answer.status_code >= 500 else 0


def _base_url(url: str) -> str:
    """The URL before the event's path; the WebhookUrl output (.../webhooks/{provider}) does."""
    url = url.strip()
    at = url.find("/webhooks/")
    return (url[:at] if at >= 0 else url).rstrip("/")


def _sign(event: Any, sign: str, base_url: str) -> str:
    """Signs the event in place for a request to base_url; returns what to print about it."""
    secret = os.environ.get(SECRET_VARIABLE, "")
    if not secret.strip():
        raise event_files.EventFileError(
            f"--sign needs the secret in ${SECRET_VARIABLE} (the value this route verifies with:"
            f" webhook_secrets.<provider> in the stack's secret), e.g."
            f" read -rs {SECRET_VARIABLE} && export {SECRET_VARIABLE}"
        )
    provider = signed_events.provider_of(event)
    scheme, bearer = signed_events.resolve(sign, provider)
    signed_events.sign_event(
        event,
        scheme,
        secret.strip(),
        bearer=bearer,
        url_of=lambda signed: base_url + http_request(signed).path,
    )
    return f"  signed: {scheme}{' (Authorization: Bearer)' if bearer else ''}"


def http_request(event: Any) -> HttpRequest:
    """The request an API Gateway (REST v1, HTTP v2) or Function URL event was made from."""
    if not isinstance(event, dict):
        raise event_files.EventFileError(_not_http("it is not a JSON object"))
    context = event.get("requestContext") or {}
    if isinstance(context.get("http"), dict):  # HTTP API v2 and Function URLs
        method = context["http"].get("method", "POST")
        path = event.get("rawPath") or context["http"].get("path") or "/"
        query = event.get("rawQueryString") or ""
    elif "httpMethod" in event:  # REST API v1
        method = event["httpMethod"]
        path = event.get("path") or "/"
        parameters = event.get("multiValueQueryStringParameters")
        query = urlencode(parameters or event.get("queryStringParameters") or {}, doseq=True)
    else:
        kind = _kind(event)
        raise event_files.EventFileError(_not_http(f"it is {kind}"))
    return HttpRequest(
        method=str(method).upper(),
        path=f"{path}?{query}" if query else path,
        headers=_headers(event),
        body=_body(event),
    )


def _headers(event: dict[str, Any]) -> dict[str, str]:
    headers = dict(event.get("headers") or {})
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if values and name not in headers:
            headers[name] = ",".join(values)
    if event.get("cookies"):  # HTTP API v2 moves Cookie headers here
        headers.setdefault("cookie", "; ".join(event["cookies"]))
    return {
        str(name): str(value)
        for name, value in headers.items()
        if str(name).lower() not in _NOT_REPLAYED
    }


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if not isinstance(body, str):  # API Gateway always passes the body as a string
        raise event_files.EventFileError("the event's body must be a string (JSON text)")
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise event_files.EventFileError(
            "the event says isBase64Encoded but its body is not base64"
        ) from None


def _kind(event: dict[str, Any]) -> str:
    if isinstance(event.get("Records"), list):
        return "an SQS batch"
    if "detail-type" in event:
        return "an EventBridge event"
    return "a direct-invoke payload"


def _not_http(why: str) -> str:
    return (
        f"not an API Gateway or Function URL event ({why}), so there is no HTTP request to"
        " replay. Run it through the handler with make invoke EVENT=<file>; to post a bare"
        " body, use curl: curl -i -H 'Content-Type: application/json' --data-binary @body.json"
        " http://127.0.0.1:3000/webhooks/<provider>"
    )


def _serve_command(port: str, url: str | None) -> str:
    return "make serve" if url or port == str(DEFAULT_PORT) else f"PORT={port} make serve"


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


if __name__ == "__main__":
    raise SystemExit(main())
