"""Warm-container cache of lookup answers, so that a burst for one address costs one lookup."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_MAX_ENTRIES = 4096
# A contact created a moment ago should show up soon: "not found" is kept for a quarter of the TTL.
NOT_FOUND_TTL_FRACTION = 0.25


class LookupCache:
    """A bounded LRU map with per-entry expiry. Only answers are stored, never errors."""

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self.not_found_ttl_seconds = ttl_seconds * NOT_FOUND_TTL_FRACTION
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl_seconds > 0

    def get(self, key: Hashable) -> Any | None:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if expires_at <= self._clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any, *, found: bool) -> None:
        if not self.enabled:
            return
        ttl = self.ttl_seconds if found else self.not_found_ttl_seconds
        with self._lock:
            self._entries[key] = (self._clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
