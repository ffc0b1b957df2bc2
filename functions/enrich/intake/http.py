"""Webhooks over HTTP: API Gateway HTTP API (v2), REST API (v1) and Lambda Function URLs."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from requests.structures import CaseInsensitiveDict

from checks import strict_json
from checks.body_parsing import parse_body
from checks.check_failures import CheckFailed
from checks.delivery import Delivery, iso_timestamp, new_delivery
from checks.delivery_ids import content_id, sender_id
from checks.signatures import request_urls
from checks.signatures import routes as webhook_signatures
from checks.signatures.shared_secrets import without_secret_fields
from checks.signatures.signed_requests import SignedRequest
from forwarding.claims import send_once
from forwarding.outcomes import MET_BEFORE, OutcomeCode
from forwarding.pipeline import enrich_and_forward
from intake import answers, outcome_answers
from intake.answers import Refusal
from intake.parts import HttpIntakeParts
from intake.proxy_events import ProxyRequest, proxy_event
from platform_services.api_keys import SecretUnavailable
from platform_services.deadlines import Deadline, LambdaContextLike
from platform_services.observability import Metric, count, logger

if TYPE_CHECKING:
    from intake.queued_mode import QueuedMode

_PROVIDER_IN_PATH = re.compile(r"/webhooks/([^/]{1,64})/?$")
QUEUED = "queued"  # the status of a webhook answered before it is enriched (queued mode)


def handle(
    event: dict[str, Any], context: LambdaContextLike | None, parts: HttpIntakeParts
) -> dict:
    count(Metric.EVENTS_RECEIVED)
    deadline = Deadline.for_lookups(context)
    try:
        delivery = accept(proxy_event(event), parts, deadline)
    except (Refusal, CheckFailed) as error:
        refusal = answers.refusal_for(error)
        count(Metric.EVENTS_REFUSED)
        logger.warning("request refused", extra={"status": refusal.status, "code": refusal.code})
        return refused(refusal)
    logger.set_correlation_id(delivery.event_id)
    if parts.queued is not None:
        return queue_for_enrichment(delivery, parts.queued, deadline)
    [outcome] = enrich_and_forward([delivery], parts.forwarding, deadline)
    return answered(outcome_answers.http_answer(outcome))


def queue_for_enrichment(delivery: Delivery, queued: QueuedMode, deadline: Deadline) -> dict:
    """Queued mode: the accepted webhook waits on the intake queue and is answered at once,
    202 `queued`; 503 when the queue refuses it, so that the sender retries."""
    from intake.queued_webhooks import queued_message  # queued mode only

    try:
        message = queued_message(delivery, lambda body: queued.signing.sign(body, deadline))
    except Refusal as refusal:
        count(Metric.EVENTS_REFUSED)
        logger.warning("request refused", extra={"status": refusal.status, "code": refusal.code})
        return refused(refusal)
    except SecretUnavailable:  # nothing is queued that the intake could not tell from a forgery
        count(Metric.FORWARD_FAILURES)
        logger.error("webhook not queued", extra={"reason": OutcomeCode.SIGNING_KEY_UNAVAILABLE})
        return answered(outcome_answers.UNAVAILABLE)

    def send(answer_by: Deadline) -> str | None:
        return queued.intake.send([message], answer_by).get(message.key)

    outcome = send_once(delivery, queued.acceptances, send, deadline, status=QUEUED)
    if outcome.code is OutcomeCode.FORWARDED:
        count(Metric.EVENTS_QUEUED)
        logger.info("webhook queued", extra={"event_id": delivery.event_id})
    elif outcome.code not in MET_BEFORE:  # what the duplicate check met, it has counted
        count(Metric.FORWARD_FAILURES)
        logger.error("webhook not queued", extra={"reason": outcome.failure})
    return answered(outcome_answers.http_answer(outcome))


def accept(
    request: ProxyRequest, parts: HttpIntakeParts, deadline: Deadline | None = None
) -> Delivery:
    """Checks and parses the request; raises a Refusal, or the check that failed. The webhook
    secret is read by `deadline` (503 if it cannot be)."""
    if request.http_method.upper() != "POST":
        raise answers.method_not_allowed()
    body = raw_body(request, parts.max_body_bytes)
    # Headers and the path are text too: the same policy as the body (lone surrogates refused).
    source = strict_json.accepted(
        {"kind": "http", "route": request.route, "provider": _provider(request)}
    )
    provider = source["provider"]
    headers = CaseInsensitiveDict(strict_json.accepted(request.headers))
    signed = signed_request(request, headers, body, parts.webhook_base_url)
    check_signature(parts, provider, signed, deadline)
    # A HandshakeKey field (Wufoo, Formstack) is the sender's secret: never forwarded.
    payload = without_secret_fields(parse_body(body, headers.get("content-type")))
    return new_delivery(
        payload,
        event_id=sender_id(headers, payload) or content_id("http", provider, payload),
        source=source,
        finder=parts.email_finder,
        require_email=parts.require_email,
        received_at=_received_at(request),
    )


def raw_body(request: ProxyRequest, max_bytes: int) -> bytes:
    """The body exactly as the sender sent it (what a signature covers), within the size limit."""
    body = request.body or ""
    if not request.is_base64_encoded:
        if len(body) > max_bytes:  # cheap check first: each character is at least one byte
            raise answers.body_too_large(max_bytes)
        data = body.encode("utf-8", "surrogatepass")
    else:
        if len(body) > (max_bytes + 2) // 3 * 4 + 4:
            raise answers.body_too_large(max_bytes)
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise answers.malformed("the body is not valid base64") from None
    if len(data) > max_bytes:
        raise answers.body_too_large(max_bytes)
    return data


def signed_request(
    request: ProxyRequest, headers: Mapping[str, str], body: bytes, base_url: str | None
) -> SignedRequest:
    """What the signature schemes read: a REST API's repeated headers joined with commas, as
    the HTTP API joins them, so that a duplicated signature header is refused alike.
    `base_url` (WEBHOOK_BASE_URL): where senders post, when the event cannot tell."""
    repeated = {
        name.lower(): ",".join(values)
        for name, values in request.multi_value_headers.items()
        if isinstance(values, list) and len(values) > 1
    }
    if repeated:
        headers = CaseInsensitiveDict({**headers, **strict_json.accepted(repeated)})
    event = request.raw_event
    return SignedRequest(
        headers=headers,
        body=body,
        method=request.http_method,
        query=request_urls.query_pairs(event),
        uri=lambda: request_urls.sender_url(event, base_url),
        content_type=headers.get("content-type"),
    )


def check_signature(
    parts: HttpIntakeParts,
    provider: str | None,
    request: SignedRequest,
    deadline: Deadline | None = None,
) -> str | None:
    """The request must be proven for its route (else SignatureRejected); returns the scheme that
    proved it. With no webhook secret at all: a deployed function (keys in Secrets Manager)
    refuses (SignaturesUncheckable) unless unsigned webhooks are explicitly allowed; a local run
    without WEBHOOK_SECRET has its checks off (None). An unreadable secret: 503."""
    try:
        keys = parts.keys.current(deadline)
    except SecretUnavailable:  # fail closed: an unreadable secret never means "checks off"
        raise answers.secret_unreadable() from None
    return webhook_signatures.check(
        webhook_signatures.RouteSchemes(
            parts.signature_scheme, dict(parts.signature_routes), parts.unsigned_allowed
        ),
        webhook_signatures.WebhookSecrets(keys.webhook_secrets, keys.provider_webhook_secrets),
        provider,
        request,
    )


def answered(answer: outcome_answers.HttpAnswer) -> dict[str, Any]:
    return http_response(answer.status, answer.body, dict(answer.headers))


def refused(refusal: Refusal, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return http_response(refusal.status, refusal.to_dict(), headers)


def http_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _provider(request: ProxyRequest) -> str | None:
    provider = (request.path_parameters or {}).get("provider")
    if provider:
        return provider[:64]
    match = _PROVIDER_IN_PATH.search(request.path or "")
    return match.group(1) if match else None


# API Gateway's request time, in epoch milliseconds; anything outside years 1970-9999 is not one.
_LATEST_EPOCH_MS = 253_402_300_799_999


def _received_at(request: ProxyRequest) -> str:
    context = request.request_context
    epoch_ms = context.get("timeEpoch") or context.get("requestTimeEpoch")
    if isinstance(epoch_ms, int | float) and 0 <= epoch_ms <= _LATEST_EPOCH_MS:
        return iso_timestamp(epoch_ms)
    return iso_timestamp()
