"""The function's configuration, read once from the environment and checked up front.

The reader that holds each variable to its form is in environment_reader.py, the number
settings' ranges in number_ranges.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from settings.environment_reader import RELATIONSHIPS, ConfigurationError, EnvReader
from settings.number_ranges import NUMBER_RANGES, NumberRange, shown
from settings.signature_scheme_names import AUTO, SCHEMES

# What callers import from `settings`, wherever it is defined.
__all__ = [
    "DEFAULT_MINIMO_BASE_URL",
    "DEFAULT_SALES_API_MAX_RPS",
    "DEFAULT_SALES_API_VERSION",
    "ENVIRONMENT_VARIABLES",
    "NUMBER_RANGES",
    "RELATIONSHIPS",
    "ROUTE_SIGNATURE_SCHEMES",
    "SIGNATURE_SCHEMES",
    "ConfigurationError",
    "NumberRange",
    "Settings",
    "shown",
]


# `auto` gives a route named after a form tool that tool's scheme (checks/signatures/schemes.py).
SIGNATURE_SCHEMES = (AUTO, *SCHEMES)
# SIGNATURE_ROUTES fixes a route's scheme: `provider=scheme` pairs (no `auto` there).
ROUTE_SIGNATURE_SCHEMES = SCHEMES
DEFAULT_MINIMO_BASE_URL = "https://api.minimo.it/public/v1"
# The version OpenMRP's TypeScript SDK pins; the gateway refuses requests without one.
DEFAULT_SALES_API_VERSION = "1.0.forge-preview.8"
# OpenMRP allows 20 requests per second per client.
DEFAULT_SALES_API_MAX_RPS = 20.0


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
        reader = EnvReader(env)
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
