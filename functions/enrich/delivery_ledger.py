"""Duplicate-delivery protection with Powertools' idempotency persistence layer on DynamoDB.

Each delivery is claimed by its event_id before anything is looked up or sent, then marked
completed with its answer (or released if it could not be forwarded, so the sender's retry can
try again). The same steps Powertools' @idempotent_function takes, but for a whole batch at once,
so that an SQS batch keeps its parallel lookups and batched sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from botocore.config import Config

from delivery import Delivery
from observability import logger, tracer
from tracing import in_this_trace

# Webhook senders retry for hours, some for days: a delivery is remembered for a day.
REMEMBER_SECONDS = 24 * 60 * 60
_CONFIG = IdempotencyConfig(event_key_jmespath="event_id", expires_after_seconds=REMEMBER_SECONDS)
_COMPLETED = "COMPLETED"


@dataclass(slots=True)
class Claims:
    fresh: list[Delivery] = field(default_factory=list)
    answered: dict[str, dict] = field(default_factory=dict)  # event_id → the first answer
    in_progress: set[str] = field(default_factory=set)  # another invocation is forwarding it


class DeliveryLedger:
    def __init__(self, table_name: str, max_concurrency: int, purpose: str = "delivery") -> None:
        """`purpose` keeps separate records in one table: `delivery` (forwarded once) and
        `accepted` (queued mode: put on the intake queue once)."""
        dynamodb = Config(
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=2,
            read_timeout=3,
            max_pool_connections=max_concurrency,  # one per claiming thread
        )
        self._store = DynamoDBPersistenceLayer(table_name=table_name, boto_config=dynamodb)
        # A fixed prefix: renaming the function must not forget what was delivered.
        self._store.configure(_CONFIG, key_prefix=purpose)
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="ledger")

    # Not its answer in the trace: the deliveries it holds carry the addresses.
    @tracer.capture_method(capture_response=False)
    def claim(self, deliveries: Sequence[Delivery], remaining_ms: int) -> Claims:
        claims = Claims()
        records = self._pool.map(in_this_trace(lambda d: self._claim(d, remaining_ms)), deliveries)
        for delivery, (claimed, record) in zip(deliveries, records, strict=True):
            if claimed:
                claims.fresh.append(delivery)
            elif record is not None and record.status == _COMPLETED:
                claims.answered[delivery.event_id] = record.response_json_as_dict() or {}
            else:
                claims.in_progress.add(delivery.event_id)
        return claims

    @tracer.capture_method
    def settle(self, forwarded: dict[str, dict], failed: Sequence[str]) -> None:
        """Remembers the answers of forwarded deliveries; forgets the failed ones."""
        list(self._pool.map(in_this_trace(lambda item: self._complete(*item)), forwarded.items()))
        list(self._pool.map(in_this_trace(self._release), failed))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _claim(self, delivery: Delivery, remaining_ms: int) -> tuple[bool, DataRecord | None]:
        key = {"event_id": delivery.event_id}
        try:
            self._store.save_inprogress(key, remaining_time_in_millis=remaining_ms)
            return True, None
        except IdempotencyItemAlreadyExistsError as exists:
            existing = exists.old_data_record
        except Exception:  # the store is down: forward anyway (at least once beats never)
            logger.warning("idempotency store unavailable; forwarding without duplicate check")
            return True, None
        if existing is None:
            try:
                existing = self._store.get_record(key)
            except Exception:  # gone again in between: let the sender retry
                existing = None
        return False, existing

    def _complete(self, event_id: str, answer: dict) -> None:
        try:
            self._store.save_success({"event_id": event_id}, result=answer)
        except Exception:
            logger.warning("idempotency store unavailable; delivery not remembered")

    def _release(self, event_id: str) -> None:
        try:
            self._store.delete_record({"event_id": event_id}, exception=RuntimeError(event_id))
        except Exception:
            logger.warning("idempotency store unavailable; in-progress record left to expire")
