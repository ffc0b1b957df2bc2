"""Sales API: POST /v1/sales/contacts/actions/find-by-email, following every page."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urljoin, urlsplit

import http_session
from deadlines import Deadline
from http_session import ApiConnection
from lookup_results import LookupFailed, SalesMatch, SalesResult

FIND_BY_EMAIL_PATH = "/v1/sales/contacts/actions/find-by-email"
# account_user carries the user's status, so that removed users can be told apart.
INCLUDE = ("account_user",)
MAX_PAGES = 10


class SalesClient:
    def __init__(self, api: ApiConnection, relationships: tuple[str, ...] = ()) -> None:
        self._api = api
        self._base_url = api.base_url.rstrip("/")
        self._relationships = list(relationships)

    def request_body(self, email: str) -> dict[str, Any]:
        body: dict[str, Any] = {"email": email, "include": list(INCLUDE)}
        if self._relationships:
            body["relationships"] = self._relationships
        return body

    def find_matches(self, email: str, deadline: Deadline) -> SalesResult:
        try:
            matches = self._collect_matches(email, deadline)
        except LookupFailed as failed:
            return SalesResult("error", error=failed.failure)
        return SalesResult("found" if matches else "not_found", matches=tuple(matches))

    def _collect_matches(self, email: str, deadline: Deadline) -> list[SalesMatch]:
        key = self._api.api_key()
        if not key:
            raise LookupFailed("missing_api_key", "no sales API key is configured")
        body = self.request_body(email)
        url: str | None = self._base_url + FIND_BY_EMAIL_PATH
        matches: list[SalesMatch] = []
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page = self._fetch_page(url, body, key, deadline)
            matches.extend(_match_from(item) for item in page.get("data") or [])
            url = self._next_page_url(page)
        return matches

    def _fetch_page(self, url: str, body: dict[str, Any], key: str, deadline: Deadline) -> dict:
        response = self._api.send(
            "POST",
            url,
            deadline=deadline,
            json=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Accept": "application/json",
                # Made once per page request: urllib3 resends the same headers on every retry.
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        if response.status_code != 200:
            raise http_session.unexpected_answer("sales API", response)
        try:
            page = response.json()
        except ValueError:
            raise LookupFailed("invalid_response", "the sales API's answer is not JSON") from None
        if not isinstance(page, dict) or not isinstance(page.get("data", []), list):
            raise LookupFailed("invalid_response", "the sales API's answer holds no list")
        return page

    def _next_page_url(self, page: dict[str, Any]) -> str | None:
        next_page = (page.get("page_info") or {}).get("next_page_url")
        if not next_page:
            return None
        url = urljoin(self._base_url + "/", next_page)
        # The page link is relative to the API's host; never follow it (and our key) elsewhere.
        if urlsplit(url)[:2] != urlsplit(self._base_url)[:2]:
            raise LookupFailed("invalid_response", "next_page_url points to another host")
        return url


def _match_from(item: Any) -> SalesMatch:
    if not isinstance(item, dict):
        raise LookupFailed("invalid_response", "the sales API sent a malformed match")
    account = item.get("account") or (item.get("account_user") or {}).get("account") or {}
    return SalesMatch(
        id=item.get("id"),
        relationship=item.get("relationship"),
        account_id=account.get("id"),
        account_name=account.get("name"),
        account_user_status=(item.get("account_user") or {}).get("status"),
    )
