"""Duplicate-delivery protection with Powertools' idempotency persistence layer on DynamoDB.

Each delivery is claimed by its key (sender scope and event_id) before anything is looked up or
sent, then marked completed with its answer (or released if it could not be forwarded, so the
sender's retry can try again). The same steps Powertools' @idempotent_function takes, but for a
whole batch at once, so that an SQS batch keeps its parallel lookups and batched sends.

The record also holds a hash of the delivery's content (Powertools' payload validation): the
same id from the same sender with other content is an id reused, reported, never a duplicate.

Every call ends by the deadline it is given. A claim that fails (the store is down or hung)
forwards anyway: at least once beats never. A claim that could not even start before the
deadline is `late`: nothing was written, and the caller decides (a batch hands it back).
Store failures are logged once per call, with counts, not once per delivery.
"""

from __future__ import annotations

from collections import Counter, defaultdict
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

from checks.delivery import Delivery
from checks.delivery_ids import DeliveryKey
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import logger, tracer
from platform_services.tracing import in_this_trace

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
    LATE = "late"  # no time was left to ask the store: nothing was written
    UNCHECKED = "unchecked"  # the store failed: ours to forward, without a duplicate check


@dataclass(slots=True)
class Claims:
    fresh: list[Delivery] = field(default_factory=list)
    answered: dict[DeliveryKey, dict] = field(default_factory=dict)  # → the first answer
    in_progress: set[DeliveryKey] = field(default_factory=set)  # another invocation has it
    reused: set[DeliveryKey] = field(default_factory=set)  # the id already names other content
    late: list[Delivery] = field(default_factory=list)  # not claimed: no time was left to ask


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
        unchecked: Counter[str] = Counter()
        for batch in _one_per_id(deliveries):
            verdicts = self._pool.map(
                in_this_trace(lambda d: self._claim(d, remaining_ms, deadline)), batch
            )
            for delivery, (verdict, record) in zip(batch, verdicts, strict=True):
                if verdict is _Verdict.CLAIMED:
                    claims.fresh.append(delivery)
                elif verdict is _Verdict.UNCHECKED:
                    claims.fresh.append(delivery)
                    unchecked[type(record).__name__] += 1
                elif verdict is _Verdict.LATE:
                    claims.late.append(delivery)
                elif verdict is _Verdict.REUSED:
                    claims.reused.add(delivery.key)
                elif isinstance(record, DataRecord) and record.status == _COMPLETED:
                    claims.answered[delivery.key] = record.response_json_as_dict() or {}
                else:
                    claims.in_progress.add(delivery.key)
        if unchecked:
            logger.warning(
                "idempotency store unavailable; forwarding without duplicate check",
                extra={"deliveries": sum(unchecked.values()), "errors": dict(unchecked)},
            )
        return claims

    @tracer.capture_method
    def settle(
        self,
        forwarded: dict[DeliveryKey, dict],
        failed: Sequence[DeliveryKey],
        deadline: Deadline | None = None,
    ) -> None:
        """Remembers the answers of forwarded deliveries, then forgets the failed ones, as far
        as the deadline allows: a claim left in place expires with the invocation's time."""
        complete = in_this_trace(lambda item: self._complete(*item, deadline))
        release = in_this_trace(lambda key: self._release(key, deadline))
        problems = Counter(
            [
                *(p for p in self._pool.map(complete, forwarded.items()) if p),
                *(p for p in self._pool.map(release, failed) if p),
            ]
        )
        if problems:
            logger.warning(
                "idempotency store unavailable; deliveries not settled",
                extra={"deliveries": sum(problems.values()), "errors": dict(problems)},
            )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _claim(
        self, delivery: Delivery, remaining_ms: int, deadline: Deadline | None
    ) -> tuple[_Verdict, object]:
        """The verdict, with the existing record (KNOWN) or the store's error (UNCHECKED)."""
        if _out_of_time(deadline):  # before botocore builds a request it could not send
            return _Verdict.LATE, None
        data = _record_data(delivery.key)
        with aws_calls.within(deadline):
            try:
                self._store.save_inprogress(data, remaining_time_in_millis=remaining_ms)
                return _Verdict.CLAIMED, None
            except IdempotencyValidationError:
                return _Verdict.REUSED, None
            except IdempotencyItemAlreadyExistsError as exists:
                existing = exists.old_data_record
            except aws_calls.OutOfTime:
                return _Verdict.LATE, None
            except Exception as exc:  # down or hung: forward anyway (at least once beats never)
                return _Verdict.UNCHECKED, exc
            if existing is None:
                try:
                    existing = self._store.get_record(data)
                except IdempotencyValidationError:
                    return _Verdict.REUSED, None
                except Exception:  # gone again in between: let the sender retry
                    existing = None
        return _Verdict.KNOWN, existing

    def _complete(self, key: DeliveryKey, answer: dict, deadline: Deadline | None) -> str | None:
        """None, or why the delivery could not be remembered."""
        if _out_of_time(deadline):
            return "not remembered: no time left"
        try:
            with aws_calls.within(deadline):
                self._store.save_success(_record_data(key), result=answer)
        except Exception as exc:
            return f"not remembered: {type(exc).__name__}"
        return None

    def _release(self, key: DeliveryKey, deadline: Deadline | None) -> str | None:
        """None, or why the claim was left to expire."""
        if _out_of_time(deadline):
            return "left to expire: no time left"
        try:
            with aws_calls.within(deadline):
                self._store.delete_record(_record_data(key), exception=RuntimeError(key.event_id))
        except Exception as exc:
            return f"left to expire: {type(exc).__name__}"
        return None


def _out_of_time(deadline: Deadline | None) -> bool:
    """Too little time for one DynamoDB attempt: aws_calls would refuse it anyway, but only
    after botocore had spent a millisecond or more of CPU building the request."""
    return deadline is not None and not deadline.allows(aws_calls.DYNAMODB.shortest_attempt)


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
