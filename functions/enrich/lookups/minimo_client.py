"""Minimo contacts API: GET /contacts/by-email/{email}."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests
from requests.utils import requote_uri

from lookups.api_errors import ErrorRules, failure_from
from lookups.http_session import ApiConnection
from lookups.lookup_keys import api_key
from lookups.results import LookupFailed, MinimoResult
from platform_services.deadlines import Deadline

# Errors are {"error": {"code", "message", "details"}}; 429 exists, with no published numbers.
ERROR_RULES = ErrorRules(api="Minimo")
# What JavaScript's encodeURIComponent leaves alone besides letters and digits (quote keeps "_.-~").
_URI_COMPONENT_SAFE = "!*'()"


def encode_uri_component(text: str) -> str:
    """Percent-encode as encodeURIComponent does: `/ ? # % + @` can never reshape the path."""
    return quote(text, safe=_URI_COMPONENT_SAFE)


class MinimoClient:
    def __init__(self, api: ApiConnection) -> None:
        self._api = api
        self._contacts_url = requote_uri(f"{api.base_url.rstrip('/')}/contacts/by-email/")

    @property
    def connection(self) -> ApiConnection:
        return self._api

    def url_for(self, email: str) -> str:
        return self._contacts_url + encode_uri_component(email)

    def find_contact(self, email: str, deadline: Deadline) -> MinimoResult:
        try:
            return self._find_contact(email, deadline)
        except LookupFailed as failed:
            return MinimoResult("error", error=failed.failure)

    def _find_contact(self, email: str, deadline: Deadline) -> MinimoResult:
        key = api_key(self._api, "Minimo")
        response = self._api.send(
            "GET",
            self.url_for(email),
            deadline=deadline,
            headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
        )
        if response.status_code == 404:
            return MinimoResult("not_found")
        if 300 <= response.status_code < 400:
            raise LookupFailed("invalid_response", "Minimo answered with a redirect")
        if response.status_code != 200:
            raise failure_from(response, ERROR_RULES)
        contact = _contact_from(response)
        if contact.get("deleted") is True:  # the API hides soft-deleted contacts; so do we
            return MinimoResult("not_found")
        return MinimoResult("found", contact=contact)


def _contact_from(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise LookupFailed("invalid_response", "Minimo's answer is not JSON") from None
    # The documentation shows the contact both bare and wrapped in "data"; accept either.
    contact = body.get("data", body) if isinstance(body, dict) else None
    if not isinstance(contact, dict) or "id" not in contact:
        raise LookupFailed("invalid_response", "Minimo's answer holds no contact")
    return contact
