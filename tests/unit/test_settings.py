import pytest

from settings import ConfigurationError, Settings

REQUIRED = {
    "OUTPUT_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/1/q",
    "SALES_API_BASE_URL": "https://s",
}


def test_defaults_match_the_design():
    settings = Settings.from_env(REQUIRED)
    assert settings.minimo_base_url == "https://api.minimo.it/public/v1"
    assert settings.require_email is False
    assert settings.sales_relationships == ()
    assert settings.relationship_precedence == ("self", "customer", "supplier")
    assert settings.http_timeout_seconds == 3
    assert settings.lookup_max_attempts == 3
    assert settings.lookup_cache_ttl_seconds == 60
    assert settings.max_concurrency == 16
    assert settings.idempotency_table is None
    assert settings.max_body_bytes == 262_144
    assert settings.fifo_queue is False
    assert (settings.pacing_table, settings.pacing_fallback_containers) == (None, 1)


def test_parses_every_variable():
    settings = Settings.from_env(
        {
            **REQUIRED,
            "OUTPUT_QUEUE_URL": "https://sqs/1/q.fifo",
            "MINIMO_BASE_URL": "http://127.0.0.1:9/public/v1/",
            "EMAIL_PATHS": " data.email , form.mail ",
            "REQUIRE_EMAIL": "TRUE",
            "SALES_RELATIONSHIPS": "customer,Supplier",
            "RELATIONSHIP_PRECEDENCE": "customer,supplier,self",
            "HTTP_TIMEOUT_SECONDS": "1.5",
            "LOOKUP_MAX_ATTEMPTS": "5",
            "LOOKUP_CACHE_TTL_SECONDS": "0",
            "MAX_CONCURRENCY": "4",
            "IDEMPOTENCY_TABLE": "t",
            "MAX_BODY_BYTES": "1024",
            "PACING_TABLE": " pacing ",
            "PACING_FALLBACK_CONTAINERS": "5",
        }
    )
    assert (settings.pacing_table, settings.pacing_fallback_containers) == ("pacing", 5)
    assert settings.fifo_queue is True
    assert settings.minimo_base_url == "http://127.0.0.1:9/public/v1"
    assert settings.email_paths == ("data.email", "form.mail")
    assert settings.require_email is True
    assert settings.sales_relationships == ("customer", "supplier")
    assert settings.relationship_precedence == ("customer", "supplier", "self")
    assert (settings.http_timeout_seconds, settings.lookup_max_attempts) == (1.5, 5)
    assert (settings.lookup_cache_ttl_seconds, settings.max_concurrency) == (0, 4)
    assert (settings.idempotency_table, settings.max_body_bytes) == ("t", 1024)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"OUTPUT_QUEUE_URL": ""}, "OUTPUT_QUEUE_URL"),
        ({"SALES_API_BASE_URL": " "}, "SALES_API_BASE_URL"),
        ({"REQUIRE_EMAIL": "maybe"}, "REQUIRE_EMAIL"),
        ({"SALES_RELATIONSHIPS": "customer,partner"}, "SALES_RELATIONSHIPS"),
        ({"RELATIONSHIP_PRECEDENCE": "friend"}, "RELATIONSHIP_PRECEDENCE"),
        ({"HTTP_TIMEOUT_SECONDS": "fast"}, "HTTP_TIMEOUT_SECONDS"),
        ({"HTTP_TIMEOUT_SECONDS": "nan"}, "HTTP_TIMEOUT_SECONDS"),
        ({"LOOKUP_MAX_ATTEMPTS": "0"}, "LOOKUP_MAX_ATTEMPTS"),
        ({"MAX_CONCURRENCY": "-1"}, "MAX_CONCURRENCY"),
        ({"PACING_FALLBACK_CONTAINERS": "0"}, "PACING_FALLBACK_CONTAINERS"),
        ({"PACING_FALLBACK_CONTAINERS": "2.5"}, "PACING_FALLBACK_CONTAINERS"),
        ({"PACING_FALLBACK_CONTAINERS": "inf"}, "PACING_FALLBACK_CONTAINERS"),
        ({"PACING_FALLBACK_CONTAINERS": "1e400"}, "PACING_FALLBACK_CONTAINERS"),
        ({"PACING_FALLBACK_CONTAINERS": "٣"}, "PACING_FALLBACK_CONTAINERS"),
        ({"PACING_FALLBACK_CONTAINERS": "10001"}, "PACING_FALLBACK_CONTAINERS"),
    ],
)
def test_bad_values_name_the_variable(overrides, named):
    with pytest.raises(ConfigurationError, match=named):
        Settings.from_env({**REQUIRED, **overrides})


def test_keys_stay_out_of_repr():
    settings = Settings.from_env(
        {**REQUIRED, "MINIMO_API_KEY": "mn-c-s3cr3t", "SALES_API_KEY": "k3y", "WEBHOOK_SECRET": "w"}
    )
    assert "s3cr3t" not in repr(settings)
    assert "k3y" not in repr(settings)


def test_signatures_are_required_unless_explicitly_allowed():
    assert Settings.from_env(REQUIRED).allow_unsigned_webhooks is False
    allowed = Settings.from_env({**REQUIRED, "ALLOW_UNSIGNED_WEBHOOKS": "true"})
    assert allowed.allow_unsigned_webhooks is True
    with pytest.raises(ConfigurationError, match="ALLOW_UNSIGNED_WEBHOOKS"):
        Settings.from_env({**REQUIRED, "ALLOW_UNSIGNED_WEBHOOKS": "sometimes"})


def test_signature_routes():
    assert Settings.from_env(REQUIRED).signature_routes == ()
    settings = Settings.from_env(
        {**REQUIRED, "SIGNATURE_ROUTES": " Contact-Form = tally , typeform=standard-webhooks "}
    )
    assert settings.signature_routes == (
        ("contact-form", "tally"),
        ("typeform", "standard-webhooks"),
    )


@pytest.mark.parametrize(
    "value", ["tally", "a=auto", "a=hmac", "=tally", "a/b=tally", "a=tally,A=github"]
)
def test_bad_signature_routes_name_the_variable(value):
    with pytest.raises(ConfigurationError, match="SIGNATURE_ROUTES"):
        Settings.from_env({**REQUIRED, "SIGNATURE_ROUTES": value})


def test_per_provider_secrets_stay_out_of_repr():
    settings = Settings.from_env({**REQUIRED, "WEBHOOK_SECRETS": '{"tally": "t4lly-s3cr3t"}'})
    assert "t4lly-s3cr3t" not in repr(settings)


@pytest.mark.parametrize("value", ["not json", '["a"]', '{"tally": 5}', '{"tally": ["a", 1]}'])
def test_malformed_per_provider_secrets_name_the_variable_not_the_value(value):
    from platform_services.api_keys import ApiKeyStore

    with pytest.raises(ConfigurationError, match="WEBHOOK_SECRETS") as caught:
        ApiKeyStore(Settings.from_env({**REQUIRED, "WEBHOOK_SECRETS": value}))
    assert value not in str(caught.value)


def test_per_provider_secrets_are_read_case_insensitively():
    from platform_services.api_keys import ApiKeyStore

    env = {**REQUIRED, "WEBHOOK_SECRETS": '{"Tally": ["old", "new"], "typeform": "tf", "x": ""}'}
    keys = ApiKeyStore(Settings.from_env(env)).current()
    assert dict(keys.provider_webhook_secrets) == {"tally": ("old", "new"), "typeform": ("tf",)}


NUMBER_VARIABLES = sorted(__import__("settings").NUMBER_RANGES)
OUT_OF_ANY_RANGE = ["inf", "-inf", "Infinity", "nan", "NaN", "1e400", "-1e400", "9e18", "-9e18"]
NOT_NUMBERS = ["fast", "1_000", "0x10", "\u0661", "1e", ".", "--1", "1 000"]


@pytest.mark.parametrize("name", NUMBER_VARIABLES)
@pytest.mark.parametrize("value", OUT_OF_ANY_RANGE + NOT_NUMBERS)
def test_every_number_setting_refuses_what_is_outside_its_range(name, value):
    from settings import NUMBER_RANGES

    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**REQUIRED, name: value})
    # The variable and its range, never the value.
    assert str(caught.value) == f"{name} must be {NUMBER_RANGES[name].describe()}"


@pytest.mark.parametrize("name", NUMBER_VARIABLES)
def test_every_number_setting_takes_both_ends_of_its_range_and_nothing_past_them(name):
    from settings import NUMBER_RANGES

    allowed = NUMBER_RANGES[name]
    for value in (allowed.minimum, allowed.maximum):
        Settings.from_env({**REQUIRED, name: repr(float(value))})
    step = 1 if allowed.whole else 0.01
    for value in (allowed.minimum - step, allowed.maximum + step):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({**REQUIRED, name: repr(value)})


@pytest.mark.parametrize(
    "name", sorted(n for n, r in __import__("settings").NUMBER_RANGES.items() if r.whole)
)
def test_counts_are_whole_numbers(name):
    with pytest.raises(ConfigurationError, match=f"{name} must be a whole number"):
        Settings.from_env({**REQUIRED, name: "2.5"})
    whole = Settings.from_env({**REQUIRED, name: "3.0"})
    assert whole == Settings.from_env({**REQUIRED, name: "3"})


def test_the_ranges_are_the_documented_ones():
    """docs/configuration.md's table states each range; it must say what the code enforces."""
    from pathlib import Path

    from settings import NUMBER_RANGES, shown

    table = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    for name, allowed in NUMBER_RANGES.items():
        [row] = [line for line in table.splitlines() if line.startswith(f"| `{name}`")]
        assert f"{shown(allowed.minimum)}\N{EN DASH}{shown(allowed.maximum)}" in row, name


def test_a_fifo_intake_queue_is_refused_at_start():
    with pytest.raises(ConfigurationError, match=r"^INTAKE_QUEUE_URL must be a standard queue"):
        Settings.from_env({**REQUIRED, "INTAKE_QUEUE_URL": "https://sqs/1/intake.fifo"})


def test_the_intake_queue_cannot_be_the_output_queue():
    with pytest.raises(ConfigurationError, match=r"^INTAKE_QUEUE_URL must not be OUTPUT_QUEUE_URL"):
        Settings.from_env({**REQUIRED, "INTAKE_QUEUE_URL": REQUIRED["OUTPUT_QUEUE_URL"]})
