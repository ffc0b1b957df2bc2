"""The key a lookup sends, read when the lookup starts (a key from Secrets Manager is re-read as
it ages): a lookup that cannot read its key, or has none, fails with a configuration error,
reported in its result like any other failure."""

from __future__ import annotations

from lookups.http_session import ApiConnection
from lookups.results import LookupFailed
from platform_services.secret_reader import SecretUnavailable


def api_key(connection: ApiConnection, api: str) -> str:
    """`api` names the API in the message: "Minimo", "sales"."""
    try:
        key = connection.api_key()
    except SecretUnavailable as exc:
        raise LookupFailed("secret_unavailable", str(exc)) from None
    if not key:
        raise LookupFailed("missing_api_key", f"no {api} API key is configured")
    return key
