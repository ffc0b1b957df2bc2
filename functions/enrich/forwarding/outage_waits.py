"""Whether a record that a queue holds (the SQS intake, queued mode) waits for an API, or goes
out now.

A lookup that failed TRANSIENTLY (LookupFailure.transient: a 5xx, a timeout, a broken
connection, a 429 with no usable Retry-After, an API still answering at the deadline) does not
send the event out `partial` while its record may wait: the record is handed back with its
visibility timeout set to its next try (outage_backoff.py), and what the other API answered is
kept (partial_answers.py), so that the next try asks only the API that failed.

The record goes out, whole or `partial`, as soon as:
- both APIs answered;
- a failure will not pass by waiting: a configuration error (401/403, `api_version_*`,
  `parameter_*`, a missing key: alarmed, as before), an address an API refuses, an answer that
  cannot be read;
- its window is over: LOOKUP_RETRY_WINDOW_SECONDS since it first reached the queue
  (SentTimestamp). 0 sends it out at once, as before waiting existed;
- it is on its last receive (INTAKE_MAX_RECEIVE_COUNT, the intake queue's maxReceiveCount):
  handed back once more, SQS would move it to the intake DLQ, so it goes out whatever its window
  says. This holds for waits for a rate limit or for time as well.

A wait for a rate limit (a Retry-After, the fleet's pacing, a lookup that could not start) is not
an outage: the record waits as before, for as long as it is told, window or not.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from checks.delivery import Delivery
from checks.delivery_ids import DeliveryKey
from forwarding import outage_backoff
from forwarding.outcome_log import waits_for
from forwarding.outcomes import Outcome
from forwarding.parts import ForwardingParts
from forwarding.queue_receipts import Receipt
from lookups.address_lookups import KnownAnswers, Lookups
from platform_services.deadlines import Deadline
from platform_services.observability import Metric, gauge, logger

# Keeping and forgetting answers must leave the batch's hand-backs their time.
STORE_CALL_SECONDS = 1.0
KEEP_PAST_WINDOW_SECONDS = 60 * 60
_ANSWERED = ("found", "not_found")


@dataclass(frozen=True, slots=True)
class Waiting:
    seconds: float  # until its next try
    why: str  # what it waits for: `<api> <code>`, or `time`
    outage: tuple[str, ...] = ()  # the failing APIs, when it may be woken as one answers again


class QueueWaits:
    """One invocation's decisions for the records its queue holds, and what it says of them."""

    def __init__(
        self,
        parts: ForwardingParts,
        receipts: Mapping[DeliveryKey, Receipt],
        deadline: Deadline,
        *,
        now: float | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._enricher = parts.enricher
        self._answers = parts.answers
        self._wakeups = parts.wakeups
        self._answered: set[str] = set()  # APIs that answered a request (not from a cache)
        self._window = parts.retry_window_seconds
        self._receives = parts.max_receive_count
        self._receipts = receipts
        self._deadline = deadline
        self._now = time.time() if now is None else now
        self._draw = draw
        self._recalled: set[DeliveryKey] = set()
        self._to_keep: list[tuple[DeliveryKey, str, Lookups]] = []
        self._waiting: list[tuple[Receipt, float]] = []  # waiting out an outage: receipt, wait
        self._gone_out: Counter[str] = Counter()  # sent partial though it could have waited

    def receipt(self, delivery: Delivery) -> Receipt:
        """What its queue said of it; a delivery the batch did not say anything of is new."""
        return self._receipts.get(delivery.key) or Receipt(self._now, 1)

    def last_receive(self, delivery: Delivery) -> bool:
        return self.receipt(delivery).receive_count >= self._receives

    def recall(self, deliveries: Iterable[Delivery], known: dict[str, KnownAnswers]) -> None:
        """Puts into `known` (address → answers) what earlier tries of these deliveries kept:
        only a record received before can have any."""
        if self._answers is None:
            return
        wanted = {
            d.key: d.email.email
            for d in deliveries
            if d.email and self.receipt(d).receive_count > 1 and d.key not in self._recalled
        }
        if not wanted:
            return
        found = self._answers.recall(wanted, _capped(self._deadline))
        for key, answers in found.items():
            self._recalled.add(key)
            known.setdefault(wanted[key], answers)

    def wait_for(self, delivery: Delivery, lookups: Lookups) -> Waiting | None:
        """How long the record waits before its next try; None: it goes out now."""
        failures = [(api, r.error) for api, r, _ in lookups.answers() if r.error is not None]
        self._answered.update(
            api for api, r, cached in lookups.answers() if r.status in _ANSWERED and not cached
        )
        if not failures or any(not (f.transient or f.deferrable) for _, f in failures):
            return None  # answered, or waiting cannot mend it
        receipt = self.receipt(delivery)
        if receipt.receive_count >= self._receives:
            self._gone_out["last_receive"] += 1
            return None
        outage = [(api, f) for api, f in failures if f.transient]
        if outage and self._window > 0:
            left = self._window - receipt.age(self._now)
            if left <= 0:
                self._gone_out["window"] += 1
                return None
            hand_backs_left = self._receives - receipt.receive_count
            wait = outage_backoff.next_wait(left, hand_backs_left, self._draw)
            if any(f.deferrable for _, f in failures):  # and told to wait that long at least
                wait = max(wait, self._enricher.wait_for(lookups))
            self._waiting.append((receipt, wait))
            self._keep(delivery, lookups)
            api, failure = outage[0]
            # Not woken: a rate limit's wait (not before it ends), nor the last hand-back's (it
            # waits out the window, whatever a flapping API's next answer says).
            rate_limited = any(f.deferrable for _, f in failures)
            wakes = () if rate_limited or hand_backs_left <= 1 else tuple(a for a, _ in outage)
            return Waiting(wait, f"{api} {failure.code}", wakes)
        if any(f.deferrable for _, f in failures):
            self._keep(delivery, lookups)
            return Waiting(self._enricher.wait_for(lookups), waits_for(lookups))
        return None  # LOOKUP_RETRY_WINDOW_SECONDS=0: an outage's failure goes out at once

    def settle(self, outcomes: Mapping[DeliveryKey, Outcome], answer_by: Deadline) -> None:
        """Wakes the records waiting for an API that answered (recovery_wakeups.py); keeps the
        answers of the records handed back; forgets those of the records sent."""
        if self._wakeups is not None and self._answered:
            redelivered = any(r.receive_count > 1 for r in self._receipts.values())
            self._wakeups.after_lookups(self._answered, redelivered, answer_by)
        if self._answers is None:
            return
        deadline = _capped(answer_by)
        if self._to_keep:
            longest = max((wait for _, wait in self._waiting), default=0.0)
            until = self._now + max(self._window, longest) + KEEP_PAST_WINDOW_SECONDS
            self._answers.keep(self._to_keep, until, deadline)
        sent = [k for k in self._recalled if (o := outcomes.get(k)) is not None and o.forwarded]
        if sent:
            self._answers.forget(sent, deadline)

    def summary(self) -> dict[str, Any]:
        """What the batch's hand-back line adds about records waiting out an outage."""
        if not self._waiting:
            return {}
        waits = [wait for _, wait in self._waiting]
        receives = [receipt.receive_count for receipt, _ in self._waiting]
        return {
            "waiting_out_an_outage": len(self._waiting),
            "oldest_waiting_s": round(self._oldest(), 1),
            "next_try_in_s": [round(min(waits), 1), round(max(waits), 1)],
            "receives": [min(receives), max(receives)],
            "retry_window_s": self._window,
        }

    def report(self, tally: Counter[str]) -> None:
        """The batch's metrics, and one line for the records sent out though they waited."""
        if self._waiting:
            tally[Metric.RECORDS_WAITING] += len(self._waiting)
            gauge(Metric.OLDEST_WAITING_AGE, self._oldest())
        if self._gone_out:
            logger.warning(
                "records sent partial: their wait for an API is over",
                extra={
                    "records": sum(self._gone_out.values()),
                    "because": dict(self._gone_out),
                    "retry_window_s": self._window,
                    "max_receive_count": self._receives,
                },
            )

    def _keep(self, delivery: Delivery, lookups: Lookups) -> None:
        answered = not (lookups.minimo.error and lookups.sales.error)  # one of them did
        if self._answers is None or not answered or delivery.email is None:
            return
        if delivery.key not in self._recalled:  # else it is kept already
            self._to_keep.append((delivery.key, delivery.email.email, lookups))

    def _oldest(self) -> float:
        return max(receipt.age(self._now) for receipt, _ in self._waiting)


def _capped(deadline: Deadline) -> Deadline:
    return Deadline(min(deadline.expires_at, time.monotonic() + STORE_CALL_SECONDS))
