"""Duplicate-delivery protection with Powertools' idempotency persistence layer on DynamoDB.

Each delivery is claimed by its key (sender scope and event_id) before anything is looked up or
sent, then marked completed with its answer (or released if it could not be forwarded, so the
sender's retry can try again). The same steps Powertools' @idempotent_function takes, but for a
whole batch at once, so that an SQS batch keeps its parallel lookups and batched sends.

The record also holds a hash of the delivery's content (Powertools' payload validation): the
same id from the same sender with other content is an id reused, reported, never a duplicate.

Every call ends by the deadline it is given. A claim that cannot be made in time (the store is
down or hung) forwards anyway, as for any store failure: at least once beats never.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

import aws_calls
from deadlines import Deadline
from delivery import Delivery
from delivery_ids import DeliveryKey
from observability import logger, tracer
from tracing import in_this_trace

# Webhook senders retry for hours, some for days: a delivery is remembered for a day.
REMEMBER_SECONDS = 24 * 60 * 60
_CONFIG = IdempotencyConfig(
    event_key_jmespath="[scope, event_id]",
    payload_validation_jmespath="fingerprint",
    expires_after_seconds=REMEMBER_SECONDS,
)
_COMPLETED = "COMPLETED"


class _Verdict(Enum):
    CLAIMED = "claimed"  # ours to forward (or the store could not say otherwise)
    KNOWN = "known"  # claimed before: completed, or being forwarded by another invocation
    REUSED = "reused"  # the id names other content from the same sender


@dataclass(slots=True)
class Claims:
    fresh: list[Delivery] = field(default_factory=list)
    answered: dict[DeliveryKey, dict] = field(default_factory=dict)  # → the first answer
    in_progress: set[DeliveryKey] = field(default_factory=set)  # another invocation has it
    reused: set[DeliveryKey] = field(default_factory=set)  # the id already names other content


class DeliveryLedger:
    def __init__(self, table_name: str, max_concurrency: int, purpose: str = "delivery") -> None:
        """`purpose` keeps separate records in one table: `delivery` (forwarded once) and
        `accepted` (queued mode: put on the intake queue once)."""
        dynamodb = aws_calls.client(
            "dynamodb",
            aws_calls.DYNAMODB,
            max_pool_connections=max_concurrency,  # one per claiming thread
        )
        self._store = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb)
        # A fixed prefix: renaming the function must not forget what was delivered.
        self._store.configure(_CONFIG, key_prefix=purpose)
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="ledger")

    # Not its answer in the trace: the deliveries it holds carry the addresses.
    @tracer.capture_method(capture_response=False)
    def claim(
        self, deliveries: Sequence[Delivery], remaining_ms: int, deadline: Deadline | None = None
    ) -> Claims:
        """`remaining_ms`: how long a claim holds if this invocation never settles it (Lambda
        stopped it); `deadline`: when the claims must be answered, claimed or not."""
        claims = Claims()
        for batch in _one_per_id(deliveries):
            verdicts = self._pool.map(
                in_this_trace(lambda d: self._claim(d, remaining_ms, deadline)), batch
            )
            for delivery, (verdict, record) in zip(batch, verdicts, strict=True):
                if verdict is _Verdict.CLAIMED:
                    claims.fresh.append(delivery)
                elif verdict is _Verdict.REUSED:
                    claims.reused.add(delivery.key)
                elif record is not None and record.status == _COMPLETED:
                    claims.answered[delivery.key] = record.response_json_as_dict() or {}
                else:
                    claims.in_progress.add(delivery.key)
        return claims

    @tracer.capture_method
    def settle(
        self,
        forwarded: dict[DeliveryKey, dict],
        failed: Sequence[DeliveryKey],
        deadline: Deadline | None = None,
    ) -> None:
        """Remembers the answers of forwarded deliveries; forgets the failed ones."""
        complete = in_this_trace(lambda item: self._complete(*item, deadline))
        list(self._pool.map(complete, forwarded.items()))
        list(self._pool.map(in_this_trace(lambda key: self._release(key, deadline)), failed))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _claim(
        self, delivery: Delivery, remaining_ms: int, deadline: Deadline | None
    ) -> tuple[_Verdict, DataRecord | None]:
        data = _record_data(delivery.key)
        with aws_calls.within(deadline):
            try:
                self._store.save_inprogress(data, remaining_time_in_millis=remaining_ms)
                return _Verdict.CLAIMED, None
            except IdempotencyValidationError:
                return _Verdict.REUSED, None
            except IdempotencyItemAlreadyExistsError as exists:
                existing = exists.old_data_record
            except Exception as exc:  # down or hung: forward anyway (at least once beats never)
                logger.warning(
                    "idempotency store unavailable; forwarding without duplicate check",
                    extra={"error": type(exc).__name__},
                )
                return _Verdict.CLAIMED, None
            if existing is None:
                try:
                    existing = self._store.get_record(data)
                except IdempotencyValidationError:
                    return _Verdict.REUSED, None
                except Exception:  # gone again in between: let the sender retry
                    existing = None
        return _Verdict.KNOWN, existing

    def _complete(self, key: DeliveryKey, answer: dict, deadline: Deadline | None) -> None:
        try:
            with aws_calls.within(deadline):
                self._store.save_success(_record_data(key), result=answer)
        except Exception:
            logger.warning("idempotency store unavailable; delivery not remembered")

    def _release(self, key: DeliveryKey, deadline: Deadline | None) -> None:
        try:
            with aws_calls.within(deadline):
                self._store.delete_record(_record_data(key), exception=RuntimeError(key.event_id))
        except Exception:
            logger.warning("idempotency store unavailable; in-progress record left to expire")


def _record_data(key: DeliveryKey) -> dict[str, str]:
    """What Powertools hashes: [scope, event_id] into the record's key, fingerprint into its
    validation hash."""
    return {"scope": key.scope, "event_id": key.event_id, "fingerprint": key.fingerprint}


def _one_per_id(deliveries: Sequence[Delivery]) -> Iterator[list[Delivery]]:
    """Claim rounds in which no two deliveries share a sender's id: a batch that holds the same
    id twice with different content claims the first, then finds the second reused."""
    by_id: defaultdict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_id[delivery.key.scope, delivery.key.event_id].append(delivery)
    rounds = max((len(same) for same in by_id.values()), default=0)
    for n in range(rounds):
        yield [same[n] for same in by_id.values() if len(same) > n]
