"""Rate-limit headers read leniently: what RFC 9110 and OpenMRP's gateway allow is honoured
(capped at the API's 15 minutes), anything else is as if the header were not there."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lookups.pacing.rate_limit_headers import (
    MAX_RESET_SECONDS,
    MAX_RETRY_AFTER_SECONDS,
    retry_after_seconds,
    window_full_for,
)

NOW = 1_800_000_000.0


def now() -> float:
    return NOW


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("1", 1.0),
        ("120", 120.0),
        (" 7\t", 7.0),  # whitespace around a field value is not part of it (RFC 9110 5.5)
        ("00030", 30.0),
        ("900", 900.0),
        ("901", 900.0),  # the sales API never asks for more than 15 minutes
        ("99999999999", 900.0),  # the one that once paused a container for its whole life
        ("9" * 400, 900.0),
    ],
)
def test_delay_seconds_are_honoured_up_to_15_minutes(value, seconds):
    assert retry_after_seconds(value, now=now) == seconds


@pytest.mark.parametrize(
    "value", ["abc", "1.5", "-1", "", " ", "+5", "5s", "1e3", "0x10", "٣", "5 5", "inf", "NaN"]
)
def test_a_malformed_retry_after_is_absent(value):
    assert retry_after_seconds(value, now=now) is None


def test_no_header_is_absent():
    assert retry_after_seconds(None, now=now) is None


@pytest.mark.parametrize(
    ("offset", "seconds"),
    [(30, 30.0), (-30, 0.0), (86_400, 900.0), (0, 0.0)],
)
def test_an_http_date_is_the_time_until_then(offset, seconds):
    value = email.utils.formatdate(NOW + offset, usegmt=True)  # IMF-fixdate
    assert retry_after_seconds(value, now=now) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37",  # no zone: still read as GMT, and long past
        "Sunday, 06-Nov-94 08:49:37 GMT",  # RFC 850
        "Sun Nov  6 08:49:37 1994",  # asctime
    ],
)
def test_obsolete_date_forms_in_the_past_mean_now(value):
    assert retry_after_seconds(value, now=now) == 0.0


@pytest.mark.parametrize(
    "value", ["Sun, 99 Foo 1994 08:49:37 GMT", "tomorrow", "Mon, 32 Jan 2026 99:99:99 GMT"]
)
def test_an_unreadable_date_is_absent(value):
    assert retry_after_seconds(value, now=now) is None


@given(st.text(alphabet=st.characters(min_codepoint=0x09, max_codepoint=0xFF), max_size=40))
def test_any_header_value_is_absent_or_a_bounded_wait(value):
    seconds = retry_after_seconds(value, now=now)
    assert seconds is None or 0 <= seconds <= MAX_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    ("headers", "full_for"),
    [
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "0"}, 0.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "3"}, 3.0),
        ({"RateLimit-Remaining": " 0 ", "RateLimit-Reset": "1"}, 1.0),
        ({"RateLimit-Remaining": "0"}, 0.0),  # no Reset: within the window, whatever it is
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "abc"}, 0.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": "99999"}, MAX_RESET_SECONDS),
        ({"RateLimit-Remaining": "1", "RateLimit-Reset": "1"}, None),  # room left
        ({"RateLimit-Remaining": "19"}, None),
        ({"RateLimit-Remaining": "abc", "RateLimit-Reset": "1"}, None),
        ({"RateLimit-Remaining": "-1", "RateLimit-Reset": "1"}, None),
        ({"RateLimit-Remaining": "0.0", "RateLimit-Reset": "1"}, None),
        ({"RateLimit-Remaining": "", "RateLimit-Reset": "1"}, None),
        ({}, None),
    ],
)
def test_a_full_window_is_read_from_remaining_and_reset(headers, full_for):
    assert window_full_for(headers) == full_for


@given(
    st.dictionaries(
        st.sampled_from(["RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Limit"]),
        st.text(alphabet=st.characters(min_codepoint=0x09, max_codepoint=0xFF), max_size=20),
    )
)
def test_any_rate_limit_headers_say_nothing_or_a_bounded_hold(headers):
    full_for = window_full_for(headers)
    assert full_for is None or 0 <= full_for <= MAX_RESET_SECONDS
