"""Requests to the sandbox APIs as their tests make them (plain `requests`, no function code),
and the sales API's error envelope as OpenMRP's gateway writes it (docs/sales-api.md)."""

from __future__ import annotations

import requests

FIND = "/v1/sales/contacts/actions/find-by-email"


VERSION = "1.0.forge-preview.8"


ENVELOPE_KEYS = {
    "code",
    "type",
    "message",
    "param",
    "doc_url",
    "is_transient",
    "quota",
    "request_log_url",
}


CONTACT_FIELDS = {
    "id",
    "email",
    "phone",
    "status",
    "source",
    "custom_fields",
    "company",
    "deleted",
    "external_id",
    "external_connection_id",
}


def sales_error(answer: requests.Response) -> tuple[int, str, str | None]:
    error = answer.json()["error"]
    assert set(error) == ENVELOPE_KEYS  # every key, null where it does not apply
    assert error["type"] in ("invalid_request_error", "idempotency_error", "api_error")
    return answer.status_code, error["code"], error["param"]
