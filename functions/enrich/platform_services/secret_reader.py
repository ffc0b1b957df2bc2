"""Reads the function's secrets from Secrets Manager through Powertools Parameters: one client and
one cache per container configuration, shared by the API keys and the intake signing key."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from platform_services import aws_calls

if TYPE_CHECKING:  # imported only when a secret is read: Powertools Parameters costs a cold start
    from aws_lambda_powertools.utilities.parameters import SecretsProvider


class SecretUnavailable(Exception):
    """The secret could not be read or parsed. Its value never appears in the message."""


class SecretReader:
    def __init__(self) -> None:
        self._provider: SecretsProvider | None = None
        self._lock = threading.Lock()  # the lookup threads read the keys at the same time

    def read(self, arn: str, *, variable: str, transform: str | None, max_age: int) -> Any:
        """The secret's value (parsed as JSON with transform="json"), cached for `max_age` s;
        AWS calls end by the deadline in force (aws_calls.within). Raises SecretUnavailable
        naming `variable`, never the value."""
        from aws_lambda_powertools.utilities.parameters.exceptions import (
            GetParameterError,
            TransformParameterError,
        )

        try:
            return self._secrets().get(arn, transform=transform, max_age=max_age)  # type: ignore[call-overload]
        except (GetParameterError, TransformParameterError) as exc:
            failure = type(exc).__name__
            raise SecretUnavailable(f"{variable} could not be read ({failure})") from None

    def _secrets(self) -> SecretsProvider:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        with self._lock:
            if self._provider is None:
                self._provider = SecretsProvider(
                    boto3_client=aws_calls.client("secretsmanager", aws_calls.SECRETS_MANAGER)
                )
            return self._provider
