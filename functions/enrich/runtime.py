"""The objects that live for the life of the container, built once per configuration."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from checks.email_extraction import EmailFinder
from forwarding.queue_sender import QueueSender
from intake.queued_signatures import IntakeSigning
from lookups import http_session, sales_client
from lookups.cache import LookupCache
from lookups.enricher import Enricher
from lookups.http_session import ApiConnection
from lookups.minimo_client import MinimoClient
from lookups.sales_client import SalesClient
from platform_services import aws_calls
from platform_services.api_keys import ApiKeyStore
from platform_services.secret_reader import SecretReader
from settings import ENVIRONMENT_VARIABLES, Settings

if TYPE_CHECKING:
    from forwarding.ledger import DeliveryLedger  # only with IDEMPOTENCY_TABLE (not cheap)
    from forwarding.parts import ForwardingParts
    from forwarding.recovery_wakeups import RecoveryWakeups  # only with IDEMPOTENCY_TABLE
    from intake.parts import HttpIntakeParts, RetriedInvokeParts, SqsIntakeParts
    from intake.queued_mode import QueuedMode  # only in queued mode
    from lookups.pacing.container_pacer import Pacer
    from lookups.partial_answers import PartialAnswers  # only with IDEMPOTENCY_TABLE

# Besides the function's own variables, these change where AWS calls go (local runs, tests).
_AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


@dataclass(frozen=True, slots=True)
class Runtime:
    """Each intake's parts, built together so that they share one forwarding path, one SQS
    client and one set of pools; app.py hands each intake its own."""

    http_intake: HttpIntakeParts
    sqs_intake: SqsIntakeParts
    invoke_intake: RetriedInvokeParts  # EventBridge events and direct invokes
    forwarding: ForwardingParts  # the one every intake forwards through

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        # The parts' classes are imported as the Runtime is built, not with this module, which
        # app.py imports before its first event: an invocation answered early
        # (intake/early_answers.py) never defines them (each frozen dataclass costs most of a
        # millisecond to define).
        from intake.parts import HttpIntakeParts, RetriedInvokeParts, SqsIntakeParts

        secrets = SecretReader()
        keys = ApiKeyStore(settings, secrets)
        # botocore retries SQS calls itself (standard mode), within the invocation's time.
        sqs = aws_calls.client("sqs", aws_calls.SQS, max_pool_connections=16)
        signing = IntakeSigning(settings, secrets) if settings.intake_signing else None
        table = settings.idempotency_table
        wakeups = _recovery_wakeups(table, sqs)
        forwarding = _forwarding(settings, _enricher(settings, keys), sqs, wakeups)
        finder = EmailFinder(settings.email_paths)
        return cls(
            http_intake=HttpIntakeParts(
                email_finder=finder,
                require_email=settings.require_email,
                forwarding=forwarding,
                keys=keys,
                max_body_bytes=settings.max_body_bytes,
                webhook_base_url=settings.webhook_base_url,
                signature_scheme=settings.signature_scheme,
                signature_routes=settings.signature_routes,
                # Deployed (keys in Secrets Manager), unsigned only when explicitly allowed; a
                # local run without WEBHOOK_SECRET has its checks off.
                unsigned_allowed=(
                    settings.allow_unsigned_webhooks or settings.api_keys_secret_arn is None
                ),
                queued=_queued_mode(settings, sqs, signing),
            ),
            sqs_intake=SqsIntakeParts(
                email_finder=finder,
                require_email=settings.require_email,
                forwarding=forwarding,
                sqs=sqs,
                intake_signing=signing,
                wakeups=wakeups,
            ),
            invoke_intake=RetriedInvokeParts(finder, settings.require_email, forwarding),
            forwarding=forwarding,
        )

    def close(self) -> None:
        """Frees the worker threads of a Runtime that a configuration change replaced."""
        forwarding = self.forwarding
        forwarding.enricher.close()
        for part in (forwarding.sender, forwarding.ledger, self.http_intake.queued):
            if part is not None:
                part.close()


def _enricher(settings: Settings, keys: ApiKeyStore) -> Enricher:
    """Both APIs' clients over their own pooled, paced sessions, and the warm cache."""
    make_pacer = _pacers(settings)

    def connection(
        api: str,
        name: str,
        base_url: str,
        api_key: Callable[[], str | None],
        max_rps: float | None,
        retry_statuses: frozenset[int],
    ) -> ApiConnection:
        session = http_session.build_session(
            pool_size=settings.max_concurrency,
            max_attempts=settings.lookup_max_attempts,
            retry_statuses=retry_statuses,
        )
        return ApiConnection(
            name,
            base_url,
            api_key,
            session,
            settings.http_timeout_seconds,
            pacer=make_pacer(api, base_url, max_rps) if max_rps else None,
        )

    minimo = MinimoClient(
        connection(
            "minimo",
            "Minimo",
            settings.minimo_base_url,
            keys.minimo_key,
            settings.minimo_api_max_rps,
            http_session.RETRYABLE_STATUSES,
        )
    )
    sales = SalesClient(
        connection(
            "sales",
            "the sales API",
            settings.sales_api_base_url,
            keys.sales_key,
            settings.sales_api_max_rps,
            sales_client.RETRY_STATUSES,
        ),
        version=settings.sales_api_version,
        account=settings.sales_api_account,
        relationships=settings.sales_relationships,
    )
    return Enricher(
        minimo=minimo,
        sales=sales,
        cache=LookupCache(settings.lookup_cache_ttl_seconds),
        max_concurrency=settings.max_concurrency,
    )


def _forwarding(
    settings: Settings, enricher: Enricher, sqs: Any, wakeups: RecoveryWakeups | None
) -> ForwardingParts:
    from forwarding.parts import ForwardingParts  # as the Runtime is built (from_settings)

    table = settings.idempotency_table
    return ForwardingParts(
        enricher=enricher,
        sender=QueueSender(settings.output_queue_url, sqs),
        relationship_precedence=settings.relationship_precedence,
        fifo=settings.fifo_queue,
        retry_window_seconds=settings.lookup_retry_window_seconds,
        max_receive_count=settings.intake_max_receive_count,
        ledger=_ledger(settings, settings.max_concurrency),
        answers=_partial_answers(table),
        wakeups=wakeups,
    )


def _pacers(settings: Settings) -> Callable[[str, str, float], Pacer]:
    """Each API's pacer: the fleet's, with PACING_TABLE, sharing one DynamoDB client and one
    view of the table's time; else the container's own."""
    table = settings.pacing_table
    if table is None or not (settings.sales_api_max_rps or settings.minimo_api_max_rps):
        from lookups.pacing.container_pacer import RequestPacer

        return lambda _name, _base_url, rate: RequestPacer(rate)
    from lookups.pacing.fleet_pacer import fleet_pacer
    from lookups.pacing.table_clock import TableClock

    # Made with the container, as the SQS client is: a first batch need not wait for it.
    dynamodb = aws_calls.client("dynamodb", aws_calls.PACING, max_pool_connections=4)

    def client() -> Any:
        return dynamodb

    clock = TableClock()

    def pacer(api: str, base_url: str, rate: float) -> Pacer:
        return fleet_pacer(
            client,
            clock,
            table=table,
            api=api,
            base_url=base_url,
            requests_per_second=rate,
            containers=settings.pacing_fallback_containers,
        )

    return pacer


# The parts that only IDEMPOTENCY_TABLE or PACING_TABLE ask for are imported when they are built:
# a cold start without them does not define their classes.
def _recovery_wakeups(table: str | None, sqs: Any) -> RecoveryWakeups | None:
    if not table:
        return None
    from forwarding.recovery_wakeups import RecoveryWakeups

    return RecoveryWakeups(table, sqs)


def _partial_answers(table: str | None) -> PartialAnswers | None:
    if not table:
        return None
    from lookups.partial_answers import PartialAnswers

    return PartialAnswers(table)


def _ledger(
    settings: Settings, concurrency: int, purpose: str = "delivery"
) -> DeliveryLedger | None:
    if not settings.idempotency_table:
        return None
    from forwarding.ledger import DeliveryLedger

    return DeliveryLedger(settings.idempotency_table, concurrency, purpose)


def _queued_mode(settings: Settings, sqs: Any, signing: IntakeSigning | None) -> QueuedMode | None:
    if not settings.intake_queue_url:
        return None
    assert signing is not None  # settings: no intake queue without a signing key
    from intake.queued_mode import QueuedMode

    return QueuedMode(
        QueueSender(settings.intake_queue_url, sqs), signing, _ledger(settings, 1, "accepted")
    )


_lock = threading.Lock()
_current: tuple[tuple[str | None, ...], Runtime] | None = None


def _fingerprint(env: Mapping[str, str]) -> tuple[str | None, ...]:
    return tuple(env.get(name) for name in (*ENVIRONMENT_VARIABLES, *_AWS_VARIABLES))


def runtime_is_built(env: Mapping[str, str] = os.environ) -> bool:
    """Whether current_runtime would answer without building anything."""
    current = _current
    return current is not None and current[0] == _fingerprint(env)


def current_runtime(env: Mapping[str, str] = os.environ) -> Runtime:
    """The container's Runtime; rebuilt only if the configuration it was built from changed."""
    global _current
    fingerprint = _fingerprint(env)
    with _lock:
        if _current is None or _current[0] != fingerprint:
            if _current is not None:
                _current[1].close()
            _current = (fingerprint, Runtime.from_settings(Settings.from_env(env)))
        return _current[1]


def forget_current_runtime() -> None:
    """Drops the container's Runtime, as a new container starts without one (tests use it so
    that one test's pacing, cache and pools never reach the next)."""
    global _current
    with _lock:
        if _current is not None:
            _current[1].close()
        _current = None
