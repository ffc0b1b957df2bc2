"""The answer one API gave for a queued record that waits for the other (outage_waits.py), kept
in the idempotency table (IDEMPOTENCY_TABLE), so that the record's next try asks only the API
that failed, in whichever container SQS hands the record to.

What is kept, and where:
- one item per waiting delivery: `id` is `answers#` and the delivery key's digest (a hash of its
  sender, id and content, delivery_ids.py), never the address; `expiration` (the table's TTL
  attribute) is the end of the record's window plus an hour. The item is deleted as soon as the
  event is sent; the TTL is a backstop (DynamoDB removes expired items within days, so a read
  checks `expiration` itself).
- `answers`: the answer as the event will carry it (a Minimo contact, or the sales matches),
  with every value equal to the address left blank and filled in again from the record on the
  next try. The idempotency records hold no address (only hashes and {event_id, status}), and
  neither does this: an answer that holds the address in any other spelling is not kept (the
  next try asks that API again). Never a key, a secret or a request.
- The idempotency table is the stack's own, encrypted at rest, and the role may already read,
  write and delete there. The pacing table is not used: other stacks may share it
  (PacingTableName) and it holds nothing about submissions.

Every call is bounded by a deadline and is best effort: a store that cannot be used costs the
next try one more request to the API that answered, never the event. Failures are logged once
per call, with counts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from checks.delivery_ids import DeliveryKey
from lookups.address_lookups import KnownAnswers, Lookups
from lookups.results import MinimoResult, SalesMatch, SalesResult
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import logger

PREFIX = "answers#"
KEEP_PAST_WINDOW_SECONDS = 60 * 60
_GET_BATCH = 100  # keys per BatchGetItem
_WRITE_BATCH = 25  # requests per BatchWriteItem
_MAX_ITEM_BYTES = 300_000  # DynamoDB's item limit is 400 KB
_ANSWERED = ("found", "not_found")


class _HoldsAddress(Exception):
    """The answer holds the address in a form that cannot be blanked out exactly."""


class PartialAnswers:
    def __init__(self, table: str) -> None:
        self._table = table
        self._client: Any = None
        self._lock = threading.Lock()

    def recall(
        self, wanted: Mapping[DeliveryKey, str], deadline: Deadline
    ) -> dict[DeliveryKey, KnownAnswers]:
        """The answers kept for these deliveries (key → its address), the address put back."""
        found: dict[DeliveryKey, KnownAnswers] = {}
        by_id = {_item_id(key): key for key in wanted}
        ids = list(by_id)
        errors: set[str] = set()
        for start in range(0, len(ids), _GET_BATCH):
            keys = [{"id": {"S": i}} for i in ids[start : start + _GET_BATCH]]
            request = {self._table: {"Keys": keys, "ConsistentRead": True}}
            try:
                with aws_calls.within(deadline):
                    answer = self._dynamodb().batch_get_item(RequestItems=request)
            except Exception as exc:  # the next try asks both APIs: costlier, never wrong
                errors.add(type(exc).__name__)
                continue
            for item in answer.get("Responses", {}).get(self._table, []):
                key = by_id.get(item.get("id", {}).get("S", ""))
                known = _read(item, wanted[key]) if key is not None else None
                if known is not None:
                    found[key] = known  # type: ignore[index]
        if errors:
            logger.warning("answers kept for waiting records could not be read", extra=_e(errors))
        return found

    def keep(
        self, waiting: Iterable[tuple[DeliveryKey, str, Lookups]], until: float, deadline: Deadline
    ) -> None:
        """Keeps what each delivery's answered API said, until `until` (epoch seconds)."""
        puts = []
        for key, address, lookups in waiting:
            item = _item(key, address, lookups, until)
            if item is not None:
                puts.append({"PutRequest": {"Item": item}})
        self._write(puts, deadline, "kept")

    def forget(self, keys: Iterable[DeliveryKey], deadline: Deadline) -> None:
        deletes = [{"DeleteRequest": {"Key": {"id": {"S": _item_id(key)}}}} for key in keys]
        self._write(deletes, deadline, "forgotten")

    def _write(self, requests: list[dict[str, Any]], deadline: Deadline, what: str) -> None:
        errors: set[str] = set()
        for start in range(0, len(requests), _WRITE_BATCH):
            batch = {self._table: requests[start : start + _WRITE_BATCH]}
            try:
                with aws_calls.within(deadline):
                    answer = self._dynamodb().batch_write_item(RequestItems=batch)
            except Exception as exc:
                errors.add(type(exc).__name__)
                continue
            if answer.get("UnprocessedItems"):
                errors.add("UnprocessedItems")
        if errors:
            logger.warning(f"answers of waiting records not {what}", extra=_e(errors))

    def _dynamodb(self) -> Any:
        """Made on first use: most containers never meet an outage."""
        with self._lock:
            if self._client is None:
                self._client = aws_calls.client("dynamodb", aws_calls.DYNAMODB)
            return self._client


def _e(errors: set[str]) -> dict[str, Any]:
    return {"errors": sorted(errors), "variable": "IDEMPOTENCY_TABLE"}


def _item_id(key: DeliveryKey) -> str:
    return PREFIX + key.digest


def _item(key: DeliveryKey, address: str, lookups: Lookups, until: float) -> dict[str, Any] | None:
    answers: dict[str, Any] = {}
    if lookups.minimo.status in _ANSWERED:
        answers["minimo"] = {"status": lookups.minimo.status, "contact": lookups.minimo.contact}
    if lookups.sales.status in _ANSWERED:
        matches = [m.to_dict() for m in lookups.sales.matches]
        answers["sales"] = {"status": lookups.sales.status, "matches": matches}
    kept = {}
    for api, answer in answers.items():
        try:
            kept[api] = _blanked(answer, address)
        except _HoldsAddress:
            continue
    try:
        text = json.dumps(kept, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    if not kept or len(text) > _MAX_ITEM_BYTES:
        return None
    return {
        "id": {"S": _item_id(key)},
        "answers": {"S": text},
        "expiration": {"N": str(int(until))},
    }


def _read(item: Mapping[str, Any], address: str) -> KnownAnswers | None:
    try:
        if float(item["expiration"]["N"]) <= time.time():
            return None  # expired, not yet removed by the TTL
        kept = json.loads(item["answers"]["S"])
        minimo = sales = None
        if isinstance(kept.get("minimo"), dict):
            answer = _filled(kept["minimo"], address)
            if answer["status"] in _ANSWERED:
                minimo = MinimoResult(answer["status"], contact=answer.get("contact"))
        if isinstance(kept.get("sales"), dict):
            answer = _filled(kept["sales"], address)
            if answer["status"] in _ANSWERED:
                matches = tuple(SalesMatch(**m) for m in answer.get("matches") or [])
                sales = SalesResult(answer["status"], matches=matches)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        return None  # not an item this module wrote: as if absent
    return (minimo, sales) if minimo or sales else None


def _blanked(answer: Any, address: str) -> dict[str, Any]:
    """{"value": the answer with each string equal to the address as None, "blanks": the paths
    of those}; raises _HoldsAddress if the address is in it any other way."""
    lowered = address.lower()
    blanks: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> Any:
        if isinstance(node, str):
            if node == address:
                blanks.append(path)
                return None
            if lowered in node.lower():
                raise _HoldsAddress
            return node
        if isinstance(node, dict):
            if any(lowered in str(name).lower() for name in node):
                raise _HoldsAddress
            return {name: walk(value, [*path, name]) for name, value in node.items()}
        if isinstance(node, list):
            return [walk(value, [*path, i]) for i, value in enumerate(node)]
        return node

    return {"value": walk(answer, []), "blanks": blanks}


def _filled(kept: dict[str, Any], address: str) -> dict[str, Any]:
    value = kept["value"]
    for path in kept["blanks"]:
        node = value
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = address
    if not isinstance(value, dict):
        raise TypeError("not an answer")
    return value
