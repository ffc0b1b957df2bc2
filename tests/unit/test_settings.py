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
        }
    )
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
