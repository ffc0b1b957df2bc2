"""Drives a sandbox API in another process over its /__sandbox/ control routes."""

from __future__ import annotations

from typing import Any

import requests


class SandboxClient:
    def __init__(self, root_url: str) -> None:
        self._root = root_url.rstrip("/") + "/__sandbox"
        self.requests_session = requests.Session()

    def reset(self) -> None:
        self._call("POST", "reset")

    def set_latency(self, seconds: float) -> None:
        self._call("PUT", "latency", {"seconds": seconds})

    def add_faults(self, steps: list[dict[str, Any]], email: str | None = None) -> None:
        self._call("POST", "faults", {"steps": steps, "email": email})

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        response = self.requests_session.request(
            method, f"{self._root}/{route}", json=body, timeout=10
        )
        response.raise_for_status()
        return response.json()
