"""The API keys and webhook secret: from Secrets Manager when configured, else the environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from platform_services import aws_calls, log_redaction
from platform_services.deadlines import Deadline
from platform_services.secret_reader import SecretReader, SecretUnavailable
from settings import ConfigurationError, Settings

__all__ = ["ApiKeyStore", "ApiKeys", "SecretUnavailable"]

# Rotated keys are picked up within this many seconds, without a redeploy.
SECRET_MAX_AGE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class ApiKeys:
    minimo: str | None = field(default=None, repr=False)
    sales: str | None = field(default=None, repr=False)
    # Several secrets may be valid at once while one is being rotated.
    webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    # A provider's own secrets, for its route /webhooks/<provider> only (lower-cased labels).
    provider_webhook_secrets: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )


class ApiKeyStore:
    def __init__(self, settings: Settings, secrets: SecretReader | None = None) -> None:
        self._settings = settings
        self._secret_arn = settings.api_keys_secret_arn
        self._secrets = secrets or SecretReader()
        try:
            provider_secrets = _provider_secrets(json.loads(settings.webhook_secrets or "{}"))
        except ValueError:
            raise ConfigurationError(
                'WEBHOOK_SECRETS must be a JSON object {"<provider>": secret or [secrets]}'
            ) from None
        self._from_env = ApiKeys(
            minimo=settings.minimo_api_key,
            sales=settings.sales_api_key,
            webhook_secrets=_secret_list(settings.webhook_secret),
            provider_webhook_secrets=provider_secrets,
        )
        _redact_from_logs(self._from_env)

    def current(self, deadline: Deadline | None = None) -> ApiKeys:
        """Raises SecretUnavailable if the secret cannot be read by `deadline` (default: the
        deadline in force for AWS calls, see aws_calls.within)."""
        if not self._secret_arn:
            return self._from_env
        with aws_calls.within(deadline):
            secret = self._fetch()
        try:
            provider_secrets = _provider_secrets(secret.get("webhook_secrets", {}))
        except ValueError:  # fail closed: a malformed entry never means "checks off"
            raise SecretUnavailable(
                "webhook_secrets in API_KEYS_SECRET_ARN is not an object of secrets"
            ) from None
        keys = ApiKeys(
            minimo=secret.get("minimo_api_key") or None,
            sales=secret.get("sales_api_key") or None,
            webhook_secrets=_secret_list(secret.get("webhook_secret"))
            or self._from_env.webhook_secrets,
            provider_webhook_secrets=provider_secrets or self._from_env.provider_webhook_secrets,
        )
        _redact_from_logs(keys)
        return keys

    # For the lookups, which read them as they start: SecretUnavailable when they cannot be read.
    def minimo_key(self) -> str | None:
        return self.current().minimo

    def sales_key(self) -> str | None:
        return self.current().sales

    def _fetch(self) -> dict[str, Any]:
        assert self._secret_arn is not None
        secret = self._secrets.read(
            self._secret_arn,
            variable="API_KEYS_SECRET_ARN",
            transform="json",
            max_age=SECRET_MAX_AGE_SECONDS,
        )
        if not isinstance(secret, dict):
            raise SecretUnavailable("API_KEYS_SECRET_ARN does not hold a JSON object")
        return secret


def _redact_from_logs(keys: ApiKeys) -> None:
    """Whatever a library logs, these values never reach a log line (log_redaction.py)."""
    minimo_parts = (keys.minimo or "").split("-", 2)  # mn-<client id>-<api key>: the key too
    log_redaction.remember_secrets(
        [
            keys.minimo,
            keys.sales,
            minimo_parts[-1] if len(minimo_parts) == 3 else None,
            *keys.webhook_secrets,
            *(s for same in keys.provider_webhook_secrets.values() for s in same),
        ]
    )


def _provider_secrets(value: Any) -> Mapping[str, tuple[str, ...]]:
    """{"<provider>": secret or [secrets]}; raises ValueError for any other shape."""
    if not isinstance(value, dict) or not all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
        for v in value.values()
    ):
        raise ValueError("not an object of secrets")
    secrets = {str(k).strip().lower(): _secret_list(v) for k, v in value.items()}
    return MappingProxyType({k: v for k, v in secrets.items() if k and v})


def _secret_list(value: Any) -> tuple[str, ...]:
    """One secret, or several (a list, or separated by spaces) during a rotation."""
    if isinstance(value, list):
        return tuple(str(v) for v in value if v)
    if isinstance(value, str):
        return tuple(value.split())
    return ()
