"""The fleet's schedule of request slots for one API: one DynamoDB item that every container
books its slots from.

The item holds `tat`, the next free slot on the table's timeline (the "theoretical arrival
time" of ITU-T I.371's generic cell rate algorithm, as a virtual schedule). Slots are
`interval` apart and each maps to a fixed time: booking k slots moves `tat` on by k intervals
and hands back [tat, tat + interval, ...]; when the schedule has fallen idle (`tat` in the
past), the booking starts from now. One conditional UpdateItem books a whole block, so a batch
pays one DynamoDB call for many requests; its condition also refuses, without booking, a block
that would end after the caller's latest moment, and (ReturnValuesOnConditionCheckFailure)
hands back the item as it stands, so that a second call, when one is needed, is the right one.

A 429 pauses the fleet by moving `tat` to when the pause ends (and noting it in `paused_until`)
if it is not there already. `expiration` (the table's TTL attribute) lets an idle item go.

Every call is bounded by the deadline it is given (aws_calls), and every answer's `Date`
header feeds the TableClock, so that all containers book on the table's time.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lookups.pacing.table_clock import TableClock
from platform_services import aws_calls
from platform_services.deadlines import Deadline

# An idle schedule's item is removed by the table's TTL after a day.
ITEM_LIFETIME_SECONDS = 24 * 60 * 60
# Conditional calls that lost a race to another container before giving up on this booking.
MAX_ROUNDS = 4
# A schedule that was busy when last booked from, this recently, is taken to be busy still: a
# booking then asks to go on its end first (one call when right, two when wrong).
BUSY_HORIZON_SECONDS = 2.0
_NAMES = {"#tat": "tat", "#paused": "paused_until", "#exp": "expiration"}
_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True, slots=True)
class Booking:
    """Slots booked: `count` of them, `interval` apart from `first` (table time)."""

    first: float
    count: int
    interval: float

    def slots(self) -> list[float]:
        return [self.first + i * self.interval for i in range(self.count)]


@dataclass(frozen=True, slots=True)
class FullUntil:
    """Nothing booked: the schedule has no free slot before `until` (table time)."""

    until: float


class ScheduleUnavailable(Exception):
    """The table could not be used: missing, wrong key schema, throttled, slow, unreachable, no
    permission, or no time left for a call (`out_of_time`, not a fault of the table)."""

    def __init__(self, reason: str, *, out_of_time: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.out_of_time = out_of_time


class ScheduleContended(Exception):
    """Other containers won every round; this booking gives up (rare)."""


class PacingSchedule:
    def __init__(
        self,
        client: Callable[[], Any],
        table: str,
        key: str,
        interval: float,
        clock: TableClock,
    ) -> None:
        """`client` makes the DynamoDB client, on the first call (not on a cold start)."""
        self._make_client = client
        self._client: Any = None
        self._client_lock = threading.Lock()
        self.table = table
        self._key = {"id": {"S": key}}
        self.interval = interval
        self._clock = clock
        self._calls = itertools.count()
        self.calls_made = 0
        self.call_seconds = 0.0  # spent waiting for the table, all calls together
        # The latest `tat` seen: the schedule only ever moves on, so it is a lower bound.
        self.known_tat: float | None = None
        self._was_busy = False  # whether the last booking went on the end of a busy schedule

    def look(self, deadline: Deadline) -> None:
        """Reads the item: the table's time (a first `Date`) and where the schedule stands."""
        answer = self._call(
            "get_item", deadline, TableName=self.table, Key=self._key, ConsistentRead=True
        )
        self._learn(answer.get("Item"))

    def book(self, count: int, latest: float, deadline: Deadline) -> Booking | FullUntil:
        """Books up to `count` slots, none starting after `latest` (table time); an idle
        schedule's first slot is now, whatever `latest` says (a free slot is never refused)."""
        for round_ in range(MAX_ROUNDS):
            now = self._clock.latest_now()
            tat = self.known_tat
            # First a guess from what this container saw last; after a refusal, the item's own.
            horizon = BUSY_HORIZON_SECONDS if round_ == 0 and self._was_busy else 0.0
            busy = tat is not None and tat > now - horizon
            start = max(tat, now) if busy and tat is not None else now
            room = math.floor((latest - start) / self.interval) + 1
            if start > now and room < 1:
                return FullUntil(start)  # known to be full: no call needed
            fits = max(1, min(count, room))
            try:
                booking = (self._append if busy else self._start)(fits, now, latest, deadline)
                self._was_busy = busy
                return booking
            except _LostRace:
                continue  # the item as it stands came back with the refusal: try again
        raise ScheduleContended

    def pause_until(self, until: float, deadline: Deadline) -> None:
        """No slot before `until` (table time), for every container."""
        if self.known_tat is not None and self.known_tat >= until:
            return  # booked past it already
        try:
            self._update(
                deadline,
                "SET #tat = :until, #paused = :until, #exp = :exp",
                "attribute_not_exists(#tat) OR NOT attribute_type(#tat, :number) OR #tat < :until",
                {":until": _n(until), ":number": {"S": "N"}, ":exp": self._expiration(until)},
            )
            self.known_tat = until
        except _LostRace:
            pass  # another container booked past it meanwhile

    # --- the two bookings -------------------------------------------------------------------------
    def _append(self, count: int, now: float, latest: float, deadline: Deadline) -> Booking:
        """The schedule is busy: the block goes on its end."""
        span = count * self.interval
        last_start = latest - (count - 1) * self.interval
        answer = self._update(
            deadline,
            "SET #tat = #tat + :span, #exp = :exp",
            "attribute_type(#tat, :number) AND #tat >= :now AND #tat <= :last",  # busy, room
            {
                ":span": _n(span),
                ":now": _n(now),
                ":last": _n(last_start),
                ":number": {"S": "N"},
                ":exp": self._expiration(latest),
            },
            ReturnValues="UPDATED_OLD",
        )
        first = float(answer["Attributes"]["tat"]["N"])
        self.known_tat = first + span
        return Booking(first, count, self.interval)

    def _start(self, count: int, now: float, latest: float, deadline: Deadline) -> Booking:
        """The schedule is idle (or new, or holds something that is not a time): it starts now."""
        end = now + count * self.interval
        self._update(
            deadline,
            "SET #tat = :end, #exp = :exp",
            "attribute_not_exists(#tat) OR NOT attribute_type(#tat, :number) OR #tat < :now",
            {
                ":end": _n(end),
                ":now": _n(now),
                ":number": {"S": "N"},
                ":exp": self._expiration(end),
            },
        )
        self.known_tat = end
        return Booking(now, count, self.interval)

    # --- calls ------------------------------------------------------------------------------------
    def _update(
        self,
        deadline: Deadline,
        update: str,
        condition: str,
        values: dict[str, Any],
        **extra: Any,
    ) -> dict[str, Any]:
        try:
            return self._call(
                "update_item",
                deadline,
                TableName=self.table,
                Key=self._key,
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=_names(update + condition),
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **extra,
            )
        except ClientError as refused:  # only a failed condition gets here (see _call)
            self._learn(refused.response.get("Item"))
            raise _LostRace from None

    def _call(self, operation: str, deadline: Deadline, **params: Any) -> dict[str, Any]:
        self.calls_made = next(self._calls) + 1
        sent = self._clock.monotonic()
        try:
            with aws_calls.within(deadline):
                answer = getattr(self._dynamodb(), operation)(**params)
        except ClientError as error:
            self._observe(sent, error.response)
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
                raise
            raise ScheduleUnavailable(_code(error)) from None
        except aws_calls.OutOfTime:
            raise ScheduleUnavailable("OutOfTime", out_of_time=True) from None
        except BotoCoreError as error:
            raise ScheduleUnavailable(type(error).__name__) from None
        self._observe(sent, answer)
        return answer

    def _dynamodb(self) -> Any:
        with self._client_lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _observe(self, sent: float, answer: dict[str, Any]) -> None:
        received = self._clock.monotonic()
        self.call_seconds += received - sent
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        self._clock.observe(sent, received, headers.get("date"))

    def _learn(self, item: dict[str, Any] | None) -> None:
        """The item as the table holds it now (missing, or `tat` not a time: an idle schedule)."""
        self.known_tat = _number((item or {}).get("tat"))

    def _expiration(self, after: float) -> dict[str, str]:
        return {"N": str(int(max(after, time.time())) + ITEM_LIFETIME_SECONDS)}


class _LostRace(Exception):
    """The condition failed: another container moved the schedule first."""


def _names(expressions: str) -> dict[str, str]:
    return {name: attribute for name, attribute in _NAMES.items() if name in expressions}


def _n(value: float) -> dict[str, str]:
    return {"N": f"{value:.6f}"}


def _number(attribute: Any) -> float | None:
    try:
        value = float(attribute["N"]) if isinstance(attribute, dict) else None
    except (KeyError, TypeError, ValueError):
        return None
    return value if value is not None and math.isfinite(value) else None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "ClientError")
