"""Wakes the intake records waiting out an API's outage as soon as that API answers again, in
whichever container it answers first, instead of leaving each to its backoff (outage_backoff.py:
a record whose try landed just before the recovery would wait its next, longer wait for nothing).

In the idempotency table (IDEMPOTENCY_TABLE, the stack's own; the role may already read, write
and delete there), per failing API:
- `outage#<api>`: the fleet's note that records wait for that API: `epoch` (this outage's, a
  random token), `slots` (how many hand-backs were written down) and `expiration` (the table's
  TTL attribute: the longest wait written down, plus a margin; a read checks it itself).
- `waiting#<api>#<epoch>#<slot>`: one batch's hand-back to one queue: the queue's URL and the
  receipt handles of this receive (what ChangeMessageVisibility needs; a handle lets one change
  that message's visibility, so it is kept nowhere else and never logged), expiring with the
  longest of their waits. Never an address, a body or a key.

Writing down costs two calls per batch and failing API (an UpdateItem on the note, one PutItem),
whatever the batch's size. The wake: the first container that sees the API answer and knows of
the note deletes it on condition that it exists (exactly one such delete succeeds; the next
outage starts a new epoch), reads the slots (BatchGetItem, 100 a call) and sets each handle's
visibility to 0 (ChangeMessageVisibilityBatch, 10 a call), within a bounded time. The slots are
left to the TTL (deleting them would cost as much as writing them again); a new epoch never
reads them.

A handle from an earlier receive of a record that was received again meanwhile, or of a record
since sent, may fail (ReceiptHandleIsInvalid, MessageNotInflight): counted and ignored. If it
does not fail (SQS may accept a record's earlier handle), the record comes back at once; while
another invocation still holds it, the duplicate check hands it back (forwarding/claims.py).

Which containers look: one that wrote a note down itself, or that learnt of one (it reads the
notes, at most once every CHECK_EVERY_SECONDS, only when its batch holds a record received
before: such a record may be back from a wait). A batch of new records in a container that knows
of no outage makes no call at all. Every call is best effort: a table that cannot be used leaves
the records to their backoff, which brings them back anyway.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from forwarding.outcomes import Outcome
from forwarding.record_handback import HandBack
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import Metric, count, logger

NOTE_PREFIX = "outage#"
SLOT_PREFIX = "waiting#"
APIS = ("minimo", "sales")
CHECK_EVERY_SECONDS = 2.0  # a container reads the notes at most this often
CALL_SECONDS = 1.0  # writing down: each batch's hand-backs keep their time
WAKE_SECONDS = 3.0  # the wake: reading the slots and the visibility changes
KEEP_PAST_WAIT_SECONDS = 60
_GET_BATCH = 100  # keys per BatchGetItem
# Names, not words: DynamoDB reserves hundreds of words in expressions.
_NAMES = {"#e": "epoch", "#x": "expiration", "#s": "slots"}
_CHANGE_BATCH = 10  # entries per ChangeMessageVisibilityBatch


class RecoveryWakeups:
    """The container's view of the fleet's outage notes; one per Runtime."""

    def __init__(self, table: str, sqs: Any) -> None:
        self._table = table
        self._sqs = sqs
        self._client: Any = None
        self._lock = threading.Lock()
        self._noted: set[str] = set()  # APIs this container knows records wait for
        self._checked_at = float("-inf")  # time.monotonic() of the last read of the notes

    # --- a batch's hand-backs ------------------------------------------------------------------
    def remember(
        self,
        queue: str,
        hand_backs: Sequence[HandBack],
        outcomes: Mapping[str, Outcome],
        deadline: Deadline,
    ) -> None:
        """Writes down, per failing API, the handles of the records of `queue` that wait out
        its outage (`outcomes` by message id); those waiting for a rate limit are left out."""
        by_api: dict[str, list[HandBack]] = {}
        for hand_back in hand_backs:
            outcome = outcomes.get(hand_back.message_id)
            for api in outcome.outage if outcome is not None else ():
                by_api.setdefault(api, []).append(hand_back)
        if not by_api:
            return
        capped = _capped(deadline, CALL_SECONDS)
        errors: set[str] = set()
        for api, waiting in by_api.items():
            self._noted.add(api)
            until = int(time.time() + max(w.wait_seconds for w in waiting)) + KEEP_PAST_WAIT_SECONDS
            try:
                with aws_calls.within(capped):
                    self._write_down(api, queue, [w.receipt_handle for w in waiting], until)
            except Exception as exc:  # they come back by their backoff
                errors.add(type(exc).__name__)
        if errors:
            logger.warning("waiting records not written down for a wake", extra=_e(errors))

    def _write_down(self, api: str, queue: str, handles: list[str], until: int) -> None:
        dynamodb = self._dynamodb()
        note = dynamodb.update_item(
            TableName=self._table,
            Key={"id": {"S": NOTE_PREFIX + api}},
            UpdateExpression="SET #e = if_not_exists(#e, :epoch), #x = :until ADD #s :one",
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":epoch": {"S": secrets.token_hex(8)},
                ":until": {"N": str(until)},
                ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        slot = _slot_id(api, note["epoch"]["S"], int(note["slots"]["N"]))
        dynamodb.put_item(
            TableName=self._table,
            Item={
                "id": {"S": slot},
                "queue": {"S": queue},
                "handles": {"L": [{"S": h} for h in handles]},
                "expiration": {"N": str(until)},
            },
        )

    # --- after a batch's lookups ---------------------------------------------------------------
    def after_lookups(self, answered: Iterable[str], redelivered: bool, deadline: Deadline) -> None:
        """`answered`: the APIs that answered a request of this batch (not a cached answer);
        `redelivered`: the batch holds a record received before. Wakes the records waiting for
        an API that answered, if the fleet noted any."""
        answered = set(answered)
        if redelivered and answered - self._noted:
            self._learn(_capped(deadline, CALL_SECONDS))
        for api in sorted(answered & self._noted):
            self._wake(api, _capped(deadline, WAKE_SECONDS))

    def _learn(self, deadline: Deadline) -> None:
        """Reads the fleet's notes, at most once every CHECK_EVERY_SECONDS."""
        if time.monotonic() - self._checked_at < CHECK_EVERY_SECONDS:
            return
        self._checked_at = time.monotonic()
        keys = [{"id": {"S": NOTE_PREFIX + api}} for api in APIS]
        try:
            with aws_calls.within(deadline):
                answer = self._dynamodb().batch_get_item(
                    RequestItems={
                        self._table: {
                            "Keys": keys,
                            "ProjectionExpression": "#i, #x",
                            "ExpressionAttributeNames": {"#i": "id", "#x": "expiration"},
                        }
                    }
                )
        except Exception as exc:
            logger.warning(
                "the fleet's outage notes could not be read", extra=_e({type(exc).__name__})
            )
            return
        for item in answer.get("Responses", {}).get(self._table, []):
            if _unexpired(item):
                self._noted.add(item["id"]["S"].removeprefix(NOTE_PREFIX))

    def _wake(self, api: str, deadline: Deadline) -> None:
        self._noted.discard(api)  # woken now, or by another container already
        try:
            with aws_calls.within(deadline):
                note = self._dynamodb().delete_item(
                    TableName=self._table,
                    Key={"id": {"S": NOTE_PREFIX + api}},
                    ConditionExpression="attribute_exists(#i)",
                    ExpressionAttributeNames={"#i": "id"},
                    ReturnValues="ALL_OLD",
                )["Attributes"]
        except Exception as exc:
            if _code(exc) != "ConditionalCheckFailedException":  # else: another container's
                logger.warning("waiting records not woken", extra=_e({type(exc).__name__}))
            return
        if not _unexpired(note):
            return
        tally: Counter[str] = Counter()
        slots = [_slot_id(api, note["epoch"]["S"], n + 1) for n in range(int(note["slots"]["N"]))]
        for queue, handles in self._read_slots(slots, deadline, tally).items():
            self._make_visible(queue, handles, deadline, tally)
        count(Metric.RECORDS_WOKEN, tally["woken"])
        logger.info(f"records woken: {api} answers again", extra={"api": api, **tally})

    def _read_slots(
        self, slots: list[str], deadline: Deadline, tally: Counter[str]
    ) -> dict[str, list[str]]:
        """{queue URL: handles} of the slots found."""
        found: dict[str, list[str]] = {}
        pending = [{"id": {"S": s}} for s in slots]
        while pending and deadline.remaining() > 0:
            keys, pending = pending[:_GET_BATCH], pending[_GET_BATCH:]
            try:
                with aws_calls.within(deadline):
                    answer = self._dynamodb().batch_get_item(
                        RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
                    )
            except Exception as exc:
                tally[f"error_{type(exc).__name__}"] += 1
                continue
            pending += answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            for item in answer.get("Responses", {}).get(self._table, []):
                try:
                    handles = [h["S"] for h in item["handles"]["L"]]
                    found.setdefault(item["queue"]["S"], []).extend(handles)
                except (KeyError, TypeError):
                    continue  # not a slot this module wrote
        tally["slots"] = len(slots)
        tally["slots_unread"] = len(pending)
        return found

    def _make_visible(
        self, queue: str, handles: list[str], deadline: Deadline, tally: Counter[str]
    ) -> None:
        for start in range(0, len(handles), _CHANGE_BATCH):
            if deadline.remaining() <= 0:
                tally["not_woken"] += len(handles) - start  # they come back by their backoff
                return
            batch = handles[start : start + _CHANGE_BATCH]
            entries = [
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(batch)
            ]
            try:
                with aws_calls.within(deadline):
                    answer = self._sqs.change_message_visibility_batch(
                        QueueUrl=queue, Entries=entries
                    )
            except Exception as exc:
                tally["not_woken"] += len(batch)
                tally[f"error_{type(exc).__name__}"] += 1
                continue
            tally["woken"] += len(answer.get("Successful", []))
            tally["stale"] += len(answer.get("Failed", []))  # received again, or sent since

    def _dynamodb(self) -> Any:
        """Made on first use: most containers never meet an outage."""
        with self._lock:
            if self._client is None:
                self._client = aws_calls.client("dynamodb", aws_calls.DYNAMODB)
            return self._client


def _slot_id(api: str, epoch: str, slot: int) -> str:
    return f"{SLOT_PREFIX}{api}#{epoch}#{slot}"


def _unexpired(item: Mapping[str, Any]) -> bool:
    try:
        return float(item["expiration"]["N"]) > time.time()
    except (KeyError, TypeError, ValueError):
        return False


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _e(errors: set[str]) -> dict[str, Any]:
    return {"errors": sorted(errors), "variable": "IDEMPOTENCY_TABLE"}


def _capped(deadline: Deadline, seconds: float) -> Deadline:
    return Deadline(min(deadline.expires_at, time.monotonic() + seconds))
