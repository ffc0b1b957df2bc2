import pytest

from checks.email_addresses import email_hash, mask_email, normalise_email
from lookups.minimo_client import encode_uri_component

# What JavaScript's encodeURIComponent returns for each (as printed by `node -e`).
JS_ENCODED = {
    "customer@example.com": "customer%40example.com",
    "a+b@x.io": "a%2Bb%40x.io",
    "a/b@x.io": "a%2Fb%40x.io",
    "a?b#c@x.io": "a%3Fb%23c%40x.io",
    "100%@x.io": "100%25%40x.io",
    "o'brien!*()~._-@x.io": "o'brien!*()~._-%40x.io",
    "ü@bücher.de": "%C3%BC%40b%C3%BCcher.de",
    "a b&c=d;e,f$g:h@x.io": "a%20b%26c%3Dd%3Be%2Cf%24g%3Ah%40x.io",
}


@pytest.mark.parametrize(("raw", "encoded"), JS_ENCODED.items())
def test_encode_uri_component_matches_javascript(raw, encoded):
    assert encode_uri_component(raw) == encoded


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  a@Example.COM ", "a@example.com"),
        ("Mixed.Case@EXAMPLE.com", "Mixed.Case@example.com"),
        ("Jane <jane@x.io>", "jane@x.io"),
        ("a+tag@x.io", "a+tag@x.io"),
    ],
)
def test_normalise(raw, normalised):
    assert normalise_email(raw) == normalised


@pytest.mark.parametrize(
    "raw", ["", "plain", "a@", "@x.io", "a@b", "a@@x.io", None, 42, "a" * 600 + "@x.io"]
)
def test_not_addresses(raw):
    assert normalise_email(raw) is None


def test_mask_keeps_only_the_first_character_and_the_domain():
    assert mask_email("customer@example.com") == "c*******@example.com"
    assert mask_email("a@x.io") == "a***@x.io"
    assert mask_email(None) is None


def test_hash_is_stable_case_insensitive_and_not_the_address():
    assert email_hash("A@x.io") == email_hash("a@x.io")
    assert "a@x.io" not in email_hash("a@x.io")
    assert len(email_hash("a@x.io")) == 64
