"""Drives a sandbox API over its /__sandbox/ control routes, from this process or another one."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    def __init__(self, root_url: str, timeout: float = 10.0) -> None:
        """`root_url` is the server's root (http://127.0.0.1:<port>), not an API base URL."""
        self._root = root_url.rstrip("/") + "/__sandbox"
        self._timeout = timeout
        self.session = requests.Session()

    def reset(self) -> None:
        """Clears faults, latency, the request log and stored idempotency keys."""
        self._call("POST", "reset")

    def set_latency(self, seconds: float) -> None:
        self._call("PUT", "latency", {"seconds": seconds})

    def add_faults(self, steps: list[dict[str, Any]], email: str | None = None) -> None:
        """Appends a script: one step per matching API request (see
        local/stand_ins/sandbox_server.py)."""
        self._call("POST", "faults", {"steps": steps, "email": email})

    def start_outage(self, seconds: float, status: int = 503) -> None:
        """Every API request fails with `status` for `seconds` (0 ends an outage)."""
        self._call("PUT", "outage", {"seconds": seconds, "status": status})

    def outage(self) -> dict[str, Any]:
        """{"active", "seconds_left", "status"}."""
        return self._call("GET", "outage")

    def set_rate_limit(self, **settings: Any) -> dict[str, Any]:
        """Changes the limiter's settings (enabled, limit, window_seconds, ...); reset() restores
        the ones the sandbox started with."""
        return self._call("PUT", "rate-limit", settings)

    def rate_limit(self) -> dict[str, Any]:
        """The limiter's settings, and how many requests it refused since the last reset."""
        return self._call("GET", "rate-limit")

    def set_pagination(self, page_size: int | None) -> None:
        """The sales sandbox only: split lists into pages of this size (None: never paginate)."""
        self._call("PUT", "pagination", {"page_size": page_size})

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received since the last reset, oldest first."""
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.request(
            method, f"{self._root}/{route}", json=body, timeout=self._timeout
        )
        response.raise_for_status()
        return response.json()
