"""Sales API (OpenMRP): POST /v1/sales/contacts/actions/find-by-email.

As OpenMRP's gateway wants it: an `OpenMRP-Version` header on every request (and
`OpenMRP-Account` when the key acts for another account), the body `{"email"}` and nothing else
(unknown body fields are refused), `relationships` and `include` as repeated query parameters,
and an `Idempotency-Key` per request that urllib3 resends unchanged on every retry.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from requests.utils import requote_uri

from lookups.api_errors import ErrorRules, failure_from
from lookups.http_session import ApiConnection
from lookups.lookup_keys import api_key
from lookups.results import LookupFailed, SalesMatch, SalesResult
from platform_services.deadlines import Deadline

FIND_BY_EMAIL_PATH = "/v1/sales/contacts/actions/find-by-email"
# `account` carries the account's id and name; `account_user` the user's status, so that a
# removed user could be told apart (the API returns active users only, but says so nowhere else).
INCLUDE = ("account", "account_user")
# The endpoint does not paginate today; if it starts to, a bounded number of pages is followed.
MAX_PAGES = 10
# Transient by OpenMRP's own table: 409 (idempotency_in_progress), 429 and 5xx.
RETRY_STATUSES = frozenset({409, 429, 500, 502, 503, 504})
ERROR_RULES = ErrorRules(
    api="the sales API",
    # Every request would draw these alike: the version or the parameters we send are wrong.
    configuration_codes=frozenset(
        {"api_version_required", "api_version_invalid", "parameter_unknown", "parameter_invalid"}
    ),
    # find-by-email answers an unknown address with an empty list: a 404 is a wrong base URL.
    not_found_is_configuration=True,
)


class SalesClient:
    def __init__(
        self,
        api: ApiConnection,
        *,
        version: str,
        account: str | None = None,
        relationships: tuple[str, ...] = (),
    ) -> None:
        self._api = api
        self._base_url = requote_uri(api.base_url.rstrip("/"))
        self._headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "OpenMRP-Version": version,
        }
        if account:
            self._headers["OpenMRP-Account"] = account
        self._query = [("relationships", r) for r in relationships] + [
            ("include", i) for i in INCLUDE
        ]

    @property
    def connection(self) -> ApiConnection:
        return self._api

    def first_page_url(self) -> tuple[str, list[tuple[str, str]]]:
        return self._base_url + FIND_BY_EMAIL_PATH, list(self._query)

    def find_matches(self, email: str, deadline: Deadline) -> SalesResult:
        try:
            matches = self._collect_matches(email, deadline)
        except LookupFailed as failed:
            return SalesResult("error", error=failed.failure)
        return SalesResult("found" if matches else "not_found", matches=tuple(matches))

    def _collect_matches(self, email: str, deadline: Deadline) -> list[SalesMatch]:
        key = api_key(self._api, "sales")
        url, query = self.first_page_url()
        matches: list[SalesMatch] = []
        for _ in range(MAX_PAGES):
            page = self._fetch_page(url, query, email, key, deadline)
            matches.extend(_match_from(item) for item in page.get("data") or [])
            next_url = self._next_page_url(page)
            if next_url is None:
                break
            url, query = next_url, []  # a page link carries its own query
        return matches

    def _fetch_page(
        self, url: str, query: list[tuple[str, str]], email: str, key: str, deadline: Deadline
    ) -> dict:
        response = self._api.send(
            "POST",
            f"{url}?{urlencode(query)}" if query else url,
            deadline=deadline,
            body=json.dumps({"email": email}).encode(),
            headers={
                **self._headers,
                "Authorization": f"Bearer {key}",
                # One per request (at most 255 characters); urllib3 resends it on every retry.
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
        if response.status_code != 200:
            if 300 <= response.status_code < 400:
                raise LookupFailed("invalid_response", "the sales API answered with a redirect")
            raise failure_from(response, ERROR_RULES)
        try:
            page = response.json()
        except ValueError:
            raise LookupFailed("invalid_response", "the sales API's answer is not JSON") from None
        if not isinstance(page, dict) or not isinstance(page.get("data", []), list):
            raise LookupFailed("invalid_response", "the sales API's answer holds no list")
        return page

    def _next_page_url(self, page: dict[str, Any]) -> str | None:
        page_info = page.get("page_info")
        next_page = page_info.get("next_page_url") if isinstance(page_info, dict) else None
        if not next_page or not isinstance(next_page, str):
            return None
        # Percent-encoded as requests would: the link is the API's text, not our URL.
        url = requote_uri(urljoin(self._base_url + "/", next_page))
        # The page link is relative to the API's host; never follow it (and our key) elsewhere.
        if urlsplit(url)[:2] != urlsplit(self._base_url)[:2]:
            raise LookupFailed("invalid_response", "next_page_url points to another host")
        return url


def _match_from(item: Any) -> SalesMatch:
    if not isinstance(item, dict):
        raise LookupFailed("invalid_response", "the sales API sent a malformed match")
    account = _object(item.get("account"))
    account_user = _object(item.get("account_user"))
    return SalesMatch(
        id=item.get("id"),
        relationship=item.get("relationship"),
        account_id=account.get("id"),
        account_name=account.get("name"),
        account_user_status=account_user.get("status"),
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
