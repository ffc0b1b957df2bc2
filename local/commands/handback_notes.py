"""What `make serve` says of intake records handed back to wait (queued mode): the function's
one line per batch ("events handed back to their queue", forwarding/outcome_log.py), caught as
it is logged, whatever LOG_LEVEL prints.

The function logs it at INFO; serve prints only ERROR lines unless --verbose, so the function's
logger is let through at INFO while its own output handler keeps the level serve asked for.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

HAND_BACK_MESSAGE = "events handed back to their queue"
FIELDS = ("events", "waiting_for", "waiting_out_an_outage", "next_try_in_s", "receives")


class HandBackNotes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self._lock = threading.Lock()
        self._lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == HAND_BACK_MESSAGE:
            with self._lock:
                self._lines.append({name: getattr(record, name, None) for name in FIELDS})

    def take(self) -> list[dict[str, Any]]:
        """The lines logged since the last call."""
        with self._lock:
            lines, self._lines = self._lines, []
        return lines

    def attach(self, printed_level: str) -> HandBackNotes:
        """Listens to the function's logger (its modules are loaded); its output stays at
        `printed_level`."""
        from platform_services.observability import logger

        logger.registered_handler.setLevel(printed_level)
        if logger.log_level > logging.INFO:
            logger.setLevel(logging.INFO)
        logger.addHandler(self)
        return self


def describe(line: dict[str, Any]) -> str:
    """`waiting: minimo service_unavailable x 2; next try in 5.8-9.1 s (receive 1)`."""
    why = ", ".join(f"{reason} x {n}" for reason, n in (line.get("waiting_for") or {}).items())
    text = f"waiting: {why or 'its turn'}"
    tries = line.get("next_try_in_s")
    if tries:
        span = f"{tries[0]}" if tries[0] == tries[1] else f"{tries[0]}-{tries[1]}"
        receives = line.get("receives") or []
        text += f"; next try in {span} s"
        if receives:
            text += f" (receive {receives[-1]})" if receives[0] == receives[-1] else ""
    return text
