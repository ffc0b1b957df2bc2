"""The API keys and webhook secret: from Secrets Manager when configured, else the environment."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import aws_calls
from deadlines import Deadline
from lookup_results import LookupFailed
from settings import ConfigurationError, Settings

if TYPE_CHECKING:  # imported only with a secret ARN: Powertools Parameters costs a cold start
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# Rotated keys are picked up within this many seconds, without a redeploy.
SECRET_MAX_AGE_SECONDS = 300


class SecretUnavailable(Exception):
    """The secret could not be read or parsed. Its value never appears in the message."""


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
    def __init__(self, settings: Settings, secrets_provider: SecretsProvider | None = None) -> None:
        self._settings = settings
        self._secret_arn = settings.api_keys_secret_arn
        self._provider = secrets_provider
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
        return ApiKeys(
            minimo=secret.get("minimo_api_key") or None,
            sales=secret.get("sales_api_key") or None,
            webhook_secrets=_secret_list(secret.get("webhook_secret"))
            or self._from_env.webhook_secrets,
            provider_webhook_secrets=provider_secrets or self._from_env.provider_webhook_secrets,
        )

    def minimo_key(self) -> str | None:
        return self._for_lookup().minimo

    def sales_key(self) -> str | None:
        return self._for_lookup().sales

    def _for_lookup(self) -> ApiKeys:
        try:
            return self.current()
        except SecretUnavailable as exc:
            raise LookupFailed("secret_unavailable", str(exc)) from None

    def _fetch(self) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        if self._provider is None:
            self._provider = SecretsProvider(
                boto3_client=aws_calls.client("secretsmanager", aws_calls.SECRETS_MANAGER)
            )
        try:
            secret = self._provider.get(
                self._secret_arn, transform="json", max_age=SECRET_MAX_AGE_SECONDS
            )
        except (GetParameterError, TransformParameterError) as exc:
            raise SecretUnavailable(
                f"API_KEYS_SECRET_ARN could not be read ({type(exc).__name__})"
            ) from None
        if not isinstance(secret, dict):
            raise SecretUnavailable("API_KEYS_SECRET_ARN does not hold a JSON object")
        return secret


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
