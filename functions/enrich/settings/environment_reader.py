"""Reading one environment variable in the form its setting takes; ConfigurationError names the
variable, never its value."""

from __future__ import annotations

import re
from collections.abc import Mapping

from settings.number_ranges import NUMBER_RANGES

RELATIONSHIPS = ("self", "customer", "supplier")
# The public URL senders post to, before /webhooks/<provider>: a scheme, a host, maybe a path.
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")
_HEADER_VALUE = re.compile(r"[!-~]{1,128}")  # printable ASCII, no spaces: safe in a header
# A number as people write one: no `inf`, `nan`, `1_000` or non-ASCII digits, which float() takes.
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class ConfigurationError(Exception):
    """An environment variable is missing or malformed; the message names it, never its value."""


class EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise ConfigurationError(f"{name} must be set")
        return value

    def csv(self, name: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in (self.text(name) or "").split(",") if part.strip())

    def boolean(self, name: str, *, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() in {"true", "1", "yes", "on"}:
            return True
        if value.lower() in {"false", "0", "no", "off"}:
            return False
        raise ConfigurationError(f"{name} must be true or false")

    def number(self, name: str, default: float) -> float:
        """The variable's value within its range in NUMBER_RANGES; `default` when unset."""
        value = self.text(name)
        if value is None:
            return default
        allowed = NUMBER_RANGES[name]
        if not _NUMBER.fullmatch(value):
            raise ConfigurationError(f"{name} must be {allowed.describe()}")
        number = float(value)  # 1e400 reads as inf, which the range check below refuses
        if not allowed.minimum <= number <= allowed.maximum or (
            allowed.whole and not number.is_integer()
        ):
            raise ConfigurationError(f"{name} must be {allowed.describe()}")
        return number

    def header_value(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not _HEADER_VALUE.fullmatch(value):
            raise ConfigurationError(f"{name} must be printable ASCII without spaces")
        return value

    def account(self, name: str) -> str | None:
        value = self.header_value(name)
        if value is not None and not value.startswith("acct_"):
            raise ConfigurationError(f"{name} must be an account id (acct_...)")
        return value

    def rate(self, name: str, default: float | None) -> float | None:
        """Requests per second; `0` (or unset with no default) turns pacing off."""
        if self.text(name) is None:
            return default
        return self.number(name, 0.0) or None

    def intake_queue(self, name: str, output_queue: str) -> str | None:
        """A standard queue, not the output queue. FIFO is refused: webhooks arrive in no order
        worth keeping (senders retry out of order), each would need a MessageGroupId, and one
        record handed back to wait out a rate limit would hold up its whole group."""
        url = self.text(name)
        if url is None:
            return None
        if url.endswith(".fifo"):
            raise ConfigurationError(f"{name} must be a standard queue, not a FIFO (.fifo) queue")
        if url == self.text(output_queue):
            raise ConfigurationError(
                f"{name} must not be {output_queue}: enriched events would be enriched again"
            )
        return url

    def base_url(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not _BASE_URL.fullmatch(value):
            raise ConfigurationError(
                f"{name} must be the URL before /webhooks/<provider>, such as"
                " https://hooks.example.com/forms (no query)"
            )
        return value.rstrip("/") if value else None

    def choice(self, name: str, allowed: tuple[str, ...], *, default: str) -> str:
        value = (self.text(name) or default).lower()
        if value not in allowed:
            raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}")
        return value

    def routes(self, name: str, schemes: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """`provider=scheme` pairs; providers are matched case-insensitively."""
        pairs = []
        for item in self.csv(name):
            provider, _, scheme = (part.strip().lower() for part in item.partition("="))
            if not provider or "/" in provider or scheme not in schemes:
                raise ConfigurationError(
                    f"{name} must be provider=scheme pairs, the scheme one of {', '.join(schemes)}"
                )
            pairs.append((provider, scheme))
        if len({provider for provider, _ in pairs}) != len(pairs):
            raise ConfigurationError(f"{name} names a provider twice")
        return tuple(pairs)

    def relationships(self, name: str, *, default: tuple[str, ...]) -> tuple[str, ...]:
        values = tuple(value.lower() for value in self.csv(name))
        unknown = sorted(set(values) - set(RELATIONSHIPS))
        if unknown:
            raise ConfigurationError(f"{name} may only name {', '.join(RELATIONSHIPS)}")
        return values or default
