"""The URL a sender posted to, read back from each kind of event (HubSpot signs it), and the query
the token scheme reads."""

from __future__ import annotations

import pytest

from checks.signatures.request_urls import HUBSPOT_DECODED, hubspot_decoded, query_pairs, sender_url
from local.stand_ins.lambda_events import function_url_event, http_api_event, rest_api_event

API = "https://abcdef1234.execute-api.eu-west-1.amazonaws.com"


def test_http_api_default_stage():
    event = http_api_event({}, provider="hubspot")
    assert sender_url(event) == f"{API}/webhooks/hubspot"


def test_http_api_named_stage_keeps_the_stage_it_was_sent_to():
    event = http_api_event({}, provider="hubspot", path="/prod/webhooks/hubspot")
    event["requestContext"]["stage"] = "prod"
    assert sender_url(event) == f"{API}/prod/webhooks/hubspot"


def test_function_url():
    event = function_url_event({}, provider="hubspot")
    host = event["requestContext"]["domainName"]
    assert host.endswith(".lambda-url.eu-west-1.on.aws")
    assert sender_url(event) == f"https://{host}/webhooks/hubspot"


def test_rest_api_path_holds_the_stage():
    event = rest_api_event({}, provider="hubspot")
    host = event["requestContext"]["domainName"]
    assert sender_url(event) == f"https://{host}/prod/webhooks/hubspot"


def test_a_custom_domain_needs_the_base_url():
    """api.example.com mapped with the key `forms`: the event's rawPath has no `/forms`."""
    event = http_api_event({}, provider="hubspot")
    event["requestContext"]["domainName"] = "hooks.example.com"
    assert sender_url(event) == "https://hooks.example.com/webhooks/hubspot"  # not what was sent
    expected = "https://hooks.example.com/forms/webhooks/hubspot"
    assert sender_url(event, "https://hooks.example.com/forms") == expected
    assert sender_url(event, "https://hooks.example.com/forms/") == expected
    # A named stage's segment in rawPath is dropped too: the path counts from /webhooks/.
    event["rawPath"] = "/prod/webhooks/hubspot"
    assert sender_url(event, "https://hooks.example.com/forms") == expected


def test_the_query_is_signed_as_sent_with_hubspots_escapes_decoded():
    event = http_api_event({}, provider="hubspot")
    event["rawQueryString"] = "portal=62515&from=a%3Ab%40c&space=a%20b&plus=a+b&pct=100%25"
    assert sender_url(event) == (
        f"{API}/webhooks/hubspot?portal=62515&from=a:b@c&space=a%20b&plus=a+b&pct=100%25"
    )


@pytest.mark.parametrize(("escaped", "character"), sorted(HUBSPOT_DECODED.items()))
def test_each_escape_hubspot_lists_is_decoded_in_either_case(escaped, character):
    assert hubspot_decoded(f"x{escaped}y{escaped.lower()}z") == f"x{character}y{character}z"


def test_other_escapes_stay():
    assert hubspot_decoded("a%20b%2Bc%25d%3Dq%26") == "a%20b%2Bc%25d%3Dq%26"


def test_rest_api_query_is_encoded_again_in_order():
    event = rest_api_event({}, provider="hubspot")
    event["multiValueQueryStringParameters"] = {"b": ["x y", "é"], "a": [":"]}
    host = event["requestContext"]["domainName"]
    assert sender_url(event) == f"https://{host}/prod/webhooks/hubspot?b=x%20y&b=%C3%A9&a=:"


def test_query_pairs():
    v2 = http_api_event({})
    v2["rawQueryString"] = "token=a%2Bb&token=c&empty="
    assert query_pairs(v2) == (("token", "a+b"), ("token", "c"), ("empty", ""))
    v1 = rest_api_event({})
    v1["multiValueQueryStringParameters"] = {"token": ["a", "b"]}
    assert query_pairs(v1) == (("token", "a"), ("token", "b"))
    too_many = http_api_event({})
    too_many["rawQueryString"] = "&".join(f"x{n}=1" for n in range(101)) + "&token=t"
    assert query_pairs(too_many) == ()  # unreadable: no token counts
