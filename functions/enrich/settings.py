"""The function's configuration, read once from the environment and checked up front."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from checks.signatures.schemes import AUTO, SCHEMES

RELATIONSHIPS = ("self", "customer", "supplier")
# `auto` gives a route named after a form tool that tool's scheme (checks/signatures/schemes.py).
SIGNATURE_SCHEMES = (AUTO, *SCHEMES)
# SIGNATURE_ROUTES fixes a route's scheme: `provider=scheme` pairs (no `auto` there).
ROUTE_SIGNATURE_SCHEMES = SCHEMES
# The public URL senders post to, before /webhooks/<provider>: a scheme, a host, maybe a path.
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?")
DEFAULT_MINIMO_BASE_URL = "https://api.minimo.it/public/v1"
# The version OpenMRP's TypeScript SDK pins; the gateway refuses requests without one.
DEFAULT_SALES_API_VERSION = "1.0.forge-preview.8"
# OpenMRP allows 20 requests per second per client.
DEFAULT_SALES_API_MAX_RPS = 20.0
_HEADER_VALUE = re.compile(r"[!-~]{1,128}")  # printable ASCII, no spaces: safe in a header
# A number as people write one: no `inf`, `nan`, `1_000` or non-ASCII digits, which float() takes.
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True, slots=True)
class NumberRange:
    """The values a number setting may take (README, Configuration): outside it, the function
    refuses to start, naming the variable."""

    minimum: float
    maximum: float
    whole: bool = False  # a count: 3 or 3.0, never 2.5

    def describe(self) -> str:
        kind = "a whole number" if self.whole else "a number"
        return f"{kind} from {shown(self.minimum)} to {shown(self.maximum)}"


def shown(value: float) -> str:
    """As the README writes a range's ends: 0.05, 256, 6,291,456."""
    return f"{int(value):,}" if value.is_integer() else f"{value:g}"


# Every number setting and its range. The template's parameters allow the same ranges (or, for
# MAX_BODY_BYTES, a narrower one: deployed, the enriched event must fit in one SQS message).
NUMBER_RANGES = {
    # Each lookup attempt; the function's 15 s timeout leaves no use for a longer one.
    "HTTP_TIMEOUT_SECONDS": NumberRange(0.05, 10),
    "LOOKUP_MAX_ATTEMPTS": NumberRange(1, 10, whole=True),
    "LOOKUP_CACHE_TTL_SECONDS": NumberRange(0, 3600),
    # SQS holds a record back at most 12 hours per receive (ChangeMessageVisibility).
    "LOOKUP_RETRY_WINDOW_SECONDS": NumberRange(0, 43_200),
    # SQS's own range for a redrive policy's maxReceiveCount.
    "INTAKE_MAX_RECEIVE_COUNT": NumberRange(1, 1000, whole=True),
    # Worker threads per API and connections per pool: each one costs memory in every container.
    "MAX_CONCURRENCY": NumberRange(1, 256, whole=True),
    # Lambda takes at most 6 MiB in a synchronous invocation: no larger body can arrive.
    "MAX_BODY_BYTES": NumberRange(1, 6_291_456, whole=True),
    "SALES_API_MAX_RPS": NumberRange(0, 10_000),
    "MINIMO_API_MAX_RPS": NumberRange(0, 10_000),
    # The most containers that may pace themselves at once when PACING_TABLE cannot be used.
    "PACING_FALLBACK_CONTAINERS": NumberRange(1, 10_000, whole=True),
}

# Every variable the function reads; the template tests check template.yaml sets them.
ENVIRONMENT_VARIABLES = (
    "OUTPUT_QUEUE_URL",
    "MINIMO_BASE_URL",
    "SALES_API_BASE_URL",
    "MINIMO_API_KEY",
    "SALES_API_KEY",
    "API_KEYS_SECRET_ARN",
    "WEBHOOK_SECRET",
    "SIGNATURE_SCHEME",
    "SIGNATURE_ROUTES",
    "WEBHOOK_SECRETS",
    "WEBHOOK_BASE_URL",
    "ALLOW_UNSIGNED_WEBHOOKS",
    "EMAIL_PATHS",
    "REQUIRE_EMAIL",
    "SALES_RELATIONSHIPS",
    "SALES_API_VERSION",
    "SALES_API_ACCOUNT",
    "SALES_API_MAX_RPS",
    "MINIMO_API_MAX_RPS",
    "PACING_TABLE",
    "PACING_FALLBACK_CONTAINERS",
    "RELATIONSHIP_PRECEDENCE",
    "HTTP_TIMEOUT_SECONDS",
    "LOOKUP_MAX_ATTEMPTS",
    "LOOKUP_CACHE_TTL_SECONDS",
    "LOOKUP_RETRY_WINDOW_SECONDS",
    "INTAKE_MAX_RECEIVE_COUNT",
    "MAX_CONCURRENCY",
    "IDEMPOTENCY_TABLE",
    "MAX_BODY_BYTES",
    "INTAKE_QUEUE_URL",
    "INTAKE_SIGNING_KEY",
    "INTAKE_SIGNING_SECRET_ARN",
)


class ConfigurationError(Exception):
    """An environment variable is missing or malformed; the message names it, never its value."""


@dataclass(frozen=True, slots=True)
class Settings:
    output_queue_url: str
    sales_api_base_url: str
    minimo_base_url: str = DEFAULT_MINIMO_BASE_URL
    # Keys and secrets stay out of repr() so that a logged Settings never leaks them.
    minimo_api_key: str | None = field(default=None, repr=False)
    sales_api_key: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    # JSON {"<provider>": secret or [secrets]}: per-route secrets, for local runs.
    webhook_secrets: str | None = field(default=None, repr=False)
    signature_scheme: str = "auto"
    signature_routes: tuple[tuple[str, str], ...] = ()
    # Where senders post, when the event cannot tell (a custom domain): HubSpot signs that URL.
    webhook_base_url: str | None = None
    # Only when no webhook secret is configured at all do unsigned requests get in, and only then.
    allow_unsigned_webhooks: bool = False
    api_keys_secret_arn: str | None = None
    email_paths: tuple[str, ...] = ()
    require_email: bool = False
    sales_relationships: tuple[str, ...] = ()
    sales_api_version: str = DEFAULT_SALES_API_VERSION
    sales_api_account: str | None = None
    # Requests per second sent to each API (by the whole fleet with PACING_TABLE, else by one
    # container); None: not paced.
    sales_api_max_rps: float | None = DEFAULT_SALES_API_MAX_RPS
    minimo_api_max_rps: float | None = None
    # DynamoDB table holding the fleet's request schedules; None: each container paces alone.
    pacing_table: str | None = None
    # How many containers may call an API at once: each paces itself at the rate divided by
    # this when PACING_TABLE cannot be used.
    pacing_fallback_containers: int = 1
    relationship_precedence: tuple[str, ...] = RELATIONSHIPS
    http_timeout_seconds: float = 3.0
    lookup_max_attempts: int = 3
    lookup_cache_ttl_seconds: float = 60.0
    # How long a queued record may wait out a failing API (outage_waits.py); 0: partial at once.
    lookup_retry_window_seconds: float = 900.0
    intake_max_receive_count: int = 5  # the intake queue's maxReceiveCount (its last receive)
    max_concurrency: int = 16
    idempotency_table: str | None = None
    max_body_bytes: int = 262_144
    # Queued mode: HTTP webhooks are checked, put on this queue and answered at once.
    intake_queue_url: str | None = None
    # What signs the webhooks the edge queues (intake/queued_signatures.py): a key, for local
    # runs, or the Secrets Manager secret that holds it, as deployed.
    intake_signing_key: str | None = field(default=None, repr=False)
    intake_signing_secret_arn: str | None = None

    @property
    def webhook_mode(self) -> str:
        """`queued` when HTTP webhooks go to the intake queue first, else `direct`."""
        return "queued" if self.intake_queue_url else "direct"

    @property
    def intake_signing(self) -> bool:
        """Whether queued webhooks can be signed and checked (intake/queued_signatures.py)."""
        return bool(self.intake_signing_key or self.intake_signing_secret_arn)

    @property
    def fifo_queue(self) -> bool:
        return self.output_queue_url.endswith(".fifo")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        reader = _EnvReader(env)
        settings = cls(
            output_queue_url=reader.required("OUTPUT_QUEUE_URL"),
            sales_api_base_url=reader.required("SALES_API_BASE_URL").rstrip("/"),
            minimo_base_url=(reader.text("MINIMO_BASE_URL") or DEFAULT_MINIMO_BASE_URL).rstrip("/"),
            minimo_api_key=reader.text("MINIMO_API_KEY"),
            sales_api_key=reader.text("SALES_API_KEY"),
            webhook_secret=reader.text("WEBHOOK_SECRET"),
            webhook_secrets=reader.text("WEBHOOK_SECRETS"),
            signature_scheme=reader.choice("SIGNATURE_SCHEME", SIGNATURE_SCHEMES, default="auto"),
            signature_routes=reader.routes("SIGNATURE_ROUTES", ROUTE_SIGNATURE_SCHEMES),
            webhook_base_url=reader.base_url("WEBHOOK_BASE_URL"),
            allow_unsigned_webhooks=reader.boolean("ALLOW_UNSIGNED_WEBHOOKS", default=False),
            api_keys_secret_arn=reader.text("API_KEYS_SECRET_ARN"),
            email_paths=reader.csv("EMAIL_PATHS"),
            require_email=reader.boolean("REQUIRE_EMAIL", default=False),
            sales_relationships=reader.relationships("SALES_RELATIONSHIPS", default=()),
            sales_api_version=reader.header_value("SALES_API_VERSION") or DEFAULT_SALES_API_VERSION,
            sales_api_account=reader.account("SALES_API_ACCOUNT"),
            sales_api_max_rps=reader.rate("SALES_API_MAX_RPS", DEFAULT_SALES_API_MAX_RPS),
            minimo_api_max_rps=reader.rate("MINIMO_API_MAX_RPS", None),
            pacing_table=reader.text("PACING_TABLE"),
            pacing_fallback_containers=int(reader.number("PACING_FALLBACK_CONTAINERS", 1)),
            relationship_precedence=reader.relationships(
                "RELATIONSHIP_PRECEDENCE", default=RELATIONSHIPS
            ),
            http_timeout_seconds=reader.number("HTTP_TIMEOUT_SECONDS", 3.0),
            lookup_max_attempts=int(reader.number("LOOKUP_MAX_ATTEMPTS", 3)),
            lookup_cache_ttl_seconds=reader.number("LOOKUP_CACHE_TTL_SECONDS", 60.0),
            lookup_retry_window_seconds=reader.number("LOOKUP_RETRY_WINDOW_SECONDS", 900.0),
            intake_max_receive_count=int(reader.number("INTAKE_MAX_RECEIVE_COUNT", 5)),
            max_concurrency=int(reader.number("MAX_CONCURRENCY", 16)),
            idempotency_table=reader.text("IDEMPOTENCY_TABLE"),
            max_body_bytes=int(reader.number("MAX_BODY_BYTES", 262_144)),
            intake_queue_url=reader.intake_queue("INTAKE_QUEUE_URL", "OUTPUT_QUEUE_URL"),
            intake_signing_key=reader.text("INTAKE_SIGNING_KEY"),
            intake_signing_secret_arn=reader.text("INTAKE_SIGNING_SECRET_ARN"),
        )
        if settings.intake_queue_url and not settings.intake_signing:
            raise ConfigurationError(
                "INTAKE_QUEUE_URL needs INTAKE_SIGNING_KEY (deployed: INTAKE_SIGNING_SECRET_ARN):"
                " the intake queue trusts only webhooks the function itself signed"
            )
        return settings


class _EnvReader:
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
