"""What `make serve` prints: one line per request (status, route, event id, enrichment status,
relationship, time), the enriched event in full with --verbose, and each function error once."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from local.commands import handback_notes
from local.commands.invoker import Invocation, error_details

_APIS = ("minimo", "sales")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request `make serve` answered: what came in, what the function did, how long."""

    method: str
    target: str  # the path and query as shown (never a token)
    status: int
    answer: str
    invocation: Invocation
    queued: list[dict[str, Any]]  # what reached the output queues meanwhile
    seconds: float


class ServeConsole:
    def __init__(self, verbose: bool = False, out: TextIO | None = None) -> None:
        self.verbose = verbose
        self._out = out or sys.stdout
        self._errors_shown: set[tuple[str, str]] = set()
        # Queued mode: (route, event_id) answered `queued`. The function answers a duplicate with
        # the first answer again and queues nothing: the answer alone cannot tell them apart.
        self._queued: set[tuple[str, str]] = set()

    def configuration_error(self, message: str, answer: str) -> None:
        """Printed at start, so that requests then only point at it."""
        self._errors_shown.add(("ConfigurationError", message))
        self._print(
            f"configuration error: {message}\n"
            f"  The function raises this on every invocation, so every webhook is answered"
            f" {answer},\n  as API Gateway answers a function error. Fix the variable and"
            " restart make serve."
        )

    def request(self, exchange: Exchange) -> None:
        self._show_once(exchange.invocation.error)
        answered = _json(exchange.answer)
        duplicate = False
        queued = isinstance(answered, dict) and answered.get("status") == "queued"
        if exchange.status == 202 and queued:
            key = (exchange.target.split("?")[0], str(answered.get("event_id")))
            duplicate = key in self._queued
            self._queued.add(key)
        self._print(summary(exchange, duplicate))
        if self.verbose:
            for message in exchange.queued:
                self._print(json.dumps(message["body"], indent=2, ensure_ascii=False))

    def intake_batch(
        self,
        records: int,
        invocation: Invocation,
        queued: list[dict[str, Any]],
        seconds: float,
        waiting: list[dict[str, Any]] | None = None,
    ) -> None:
        """Queued mode: one intake batch, as the event source mapping invoked the function;
        `waiting`: its hand-back lines (commands/handback_notes.py), what the records wait for."""
        error = invocation.error
        self._show_once(error)
        if error is not None:
            outcome = f"function error: {type(error).__name__}; the whole batch comes back"
        else:
            failed = len((invocation.result or {}).get("batchItemFailures", []))
            outcome = f"{len(queued)} forwarded, {failed} back to the queue"
        self._print(f"intake batch of {records}: {outcome}  {seconds * 1000:.0f} ms")
        for line in waiting or []:
            self._print("  " + handback_notes.describe(line))
        for message in queued:
            self._print("  " + "  ".join(_enriched(message["body"])))
            if self.verbose:
                self._print(json.dumps(message["body"], indent=2, ensure_ascii=False))

    def not_handled(self, method: str, target: str, status: int, why: str) -> None:
        """Answered before the function (as API Gateway would), with the reason."""
        self._print(f"{status} {method} {target}  {why}; webhooks go to POST /webhooks/<provider>")

    def _show_once(self, error: BaseException | None) -> None:
        """The function's traceback, the first time it raises this error."""
        if error is not None and _error_key(error) not in self._errors_shown:
            self._errors_shown.add(_error_key(error))
            self._print(f"the function raised (shown once):\n{error_details(error)}")

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)


def summary(exchange: Exchange, duplicate: bool = False) -> str:
    """`duplicate`: queued mode, a delivery this console saw answered `queued` before."""
    parts = [f"{exchange.status} {exchange.method} {exchange.target}"]
    answered = _json(exchange.answer)
    if exchange.invocation.error is not None:
        parts.append(f"function error: {type(exchange.invocation.error).__name__} (shown above)")
    elif exchange.queued:
        for message in exchange.queued:
            parts += _enriched(message["body"])
    elif exchange.status == 202 and isinstance(answered, dict):
        if answered.get("status") == "queued" and not duplicate:
            # Queued mode: on the intake queue; its batch prints the enriched event.
            parts += [f"event_id={answered.get('event_id')}", "queued for enrichment"]
        else:
            # Accepted, yet nothing new reached a queue: the delivery ledger replayed the first
            # delivery's answer.
            parts += [
                f"event_id={answered.get('event_id')}",
                str(answered.get("status")),
                "duplicate delivery: the first answer replayed, nothing queued",
            ]
    elif isinstance(answered, dict) and isinstance(answered.get("error"), dict):
        refusal = answered["error"]
        parts.append(f"{refusal.get('code')}: {refusal.get('message')}")
    parts.append(f"{exchange.seconds * 1000:.0f} ms")
    return "  ".join(parts)


def _enriched(event: Any) -> list[str]:
    if not isinstance(event, dict) or not isinstance(event.get("enrichment"), dict):
        return ["queued a message that is not an enriched event"]
    enrichment = event["enrichment"]
    parts = [
        f"event_id={event.get('event_id')}",
        str(enrichment.get("status")),
        f"relationship={enrichment.get('relationship') or '-'}",
    ]
    errors = [
        f"{api} {lookup['error'].get('code')}"
        for api in _APIS
        if isinstance(lookup := enrichment.get(api), dict) and isinstance(lookup.get("error"), dict)
    ]
    if errors:
        parts.append("lookup errors: " + ", ".join(errors))
    return parts


def _error_key(error: BaseException) -> tuple[str, str]:
    return type(error).__name__, str(error)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
