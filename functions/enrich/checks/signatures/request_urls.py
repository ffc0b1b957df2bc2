"""The URL and query a webhook was sent to, read back from its Lambda event (HubSpot signs the URL;
the token scheme reads the query).

What each event holds (API Gateway "Working with AWS Lambda proxy integrations for HTTP APIs",
"Lambda proxy integration input format" for REST APIs, Lambda's "Function URL request payload"):

| sent through | host | path as sent |
| --- | --- | --- |
| HTTP API, `$default` stage | requestContext.domainName | rawPath |
| HTTP API, named stage | requestContext.domainName | rawPath (starts with /<stage>) |
| Function URL | requestContext.domainName (<id>.lambda-url.<region>.on.aws) | rawPath |
| REST API | requestContext.domainName | requestContext.path (/<stage>/...) |
| custom domain, API mapping | the custom domain | not in the event (below) |
| a proxy or CloudFront in front | the proxy's origin, not the public host | not in the event |

Behind a custom domain, rawPath leaves out the API mapping's path and may hold the stage.

So the URL is rebuilt as https://<domainName><path>?<query>, except where WEBHOOK_BASE_URL says
what the public URL is: then it is WEBHOOK_BASE_URL followed by the path from `/webhooks/` on.
A REST API event has no raw query string: its parameters are percent-encoded again, in order
(a sender's own encoding of other characters cannot be recovered: prefer the HTTP API there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

ROUTE_PREFIX = "/webhooks/"
# HubSpot's "Validating requests", v3: "In the request URI, decode any of the URL-encoded
# characters listed in the table below" (the question mark that starts the query stays).
HUBSPOT_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
# Percent-escapes name an octet in either case (RFC 3986 2.1): %3a is %3A.
_HUBSPOT_ESCAPES = re.compile("|".join(HUBSPOT_DECODED), re.IGNORECASE)
MAX_QUERY_PARAMETERS = 100


def sender_url(event: Mapping[str, Any], base_url: str | None = None) -> str:
    """The URL the sender posted to, as HubSpot writes it for its v3 signature."""
    path, query = _path(event), raw_query(event)
    if base_url:
        at = path.find(ROUTE_PREFIX)
        url = base_url.rstrip("/") + (path[at:] if at >= 0 else path)
    else:
        context = event.get("requestContext") or {}
        host = context.get("domainName") or _header(event, "host") or ""
        url = f"https://{host}{path}"
    if query:
        url += "?" + query
    return hubspot_decoded(url)


def hubspot_decoded(url: str) -> str:
    return _HUBSPOT_ESCAPES.sub(lambda match: HUBSPOT_DECODED[match[0].upper()], url)


def query_pairs(event: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The decoded query parameters in order, repeats kept; none when the query cannot be read
    (so that a token hidden in an unreadable query never counts)."""
    multi = event.get("multiValueQueryStringParameters")
    if "httpMethod" in event:  # REST API: decoded by API Gateway, grouped by name
        return tuple(
            (str(name), str(value))
            for name, values in (multi or {}).items()
            for value in values or ()
        )
    try:
        return tuple(
            parse_qsl(
                str(event.get("rawQueryString") or ""),
                keep_blank_values=True,
                max_num_fields=MAX_QUERY_PARAMETERS,
            )
        )
    except ValueError:
        return ()


def raw_query(event: Mapping[str, Any]) -> str:
    if "httpMethod" not in event:
        return str(event.get("rawQueryString") or "")
    return "&".join(
        f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in query_pairs(event)
    )


def _path(event: Mapping[str, Any]) -> str:
    if "httpMethod" in event:  # REST API: the resource path leaves out the stage
        context = event.get("requestContext") or {}
        return str(context.get("path") or event.get("path") or "/")
    return str(event.get("rawPath") or "/")


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if str(key).lower() == name:
            return str(value)
    return None
