"""Hypothesis strategies for the values an API's rate-limit headers (`Retry-After`, `RateLimit-*`)
and an SQS record's receipt attributes can carry, well formed or not."""

from __future__ import annotations

from hypothesis import strategies as st

# --- rate-limit headers -------------------------------------------------------------------------
# A field value as HTTP/1.1 carries it (RFC 9110 5.5): visible ASCII and obs-text (the bytes
# 0x80-0xFF, read as latin-1), with spaces and tabs inside; the parser drops those around it.
FIELD_VALUE_CHARACTERS = st.characters(
    codec="latin-1", exclude_categories=("Cc",), include_characters="\t "
)
field_values = st.text(FIELD_VALUE_CHARACTERS, max_size=40)
_WHITESPACE = st.sampled_from(["", "", " ", "\t", "  "])
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@st.composite
def http_dates(draw: st.DrawFn) -> str:
    """HTTP-dates in the three forms RFC 9110 names (IMF-fixdate, RFC 850, asctime), from the
    distant past to the distant future, and with fields no calendar has (day 32, hour 99)."""
    year = draw(st.integers(1, 9999))
    month = draw(st.sampled_from(_MONTH_NAMES))
    day = draw(st.integers(0, 32))
    hour, minute, second = (draw(st.integers(0, 99)) for _ in range(3))
    weekday = draw(st.sampled_from(_DAY_NAMES))
    zone = draw(st.sampled_from(["GMT", "GMT", "UTC", "+0200", "-1100", "PST", "XYZ", ""]))
    clock = f"{hour:02d}:{minute:02d}:{second:02d}"
    return draw(
        st.sampled_from(
            [
                f"{weekday}, {day:02d} {month} {year:04d} {clock} {zone}".rstrip(),
                f"{weekday}day, {day:02d}-{month}-{year % 100:02d} {clock} {zone}".rstrip(),
                f"{weekday} {month} {day:2d} {clock} {year}",
            ]
        )
    )


def _near_now(offset: float) -> str:
    import email.utils
    import time

    return email.utils.formatdate(time.time() + offset, usegmt=True)


retry_after_values = st.one_of(
    st.integers(0, 10**15).map(str),  # delay-seconds, up to the absurd
    st.builds(lambda a, n, b: f"{a}{n}{b}", _WHITESPACE, st.integers(0, 5000), _WHITESPACE),
    st.integers(-(10**6), -1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),  # 1.5, nan, inf, 1e+300
    # Digits of another script arrive as their UTF-8 bytes (obs-text), never as digits.
    st.sampled_from(["", " ", "abc", "+5", "0x1F", "1,000", "5s", "١٢".encode().decode("latin-1")]),
    http_dates(),
    st.floats(-(10**6), 10**6).map(_near_now),  # real dates around now: past, soon, far off
    field_values,
)


rate_limit_values = st.one_of(
    st.integers(-5, 10**13).map(str),
    st.builds(lambda a, n, b: f"{a}{n}{b}", _WHITESPACE, st.integers(0, 30), _WHITESPACE),
    st.sampled_from(["", "0", "00", "0.0", "-0", "1.5", "abc", "20, 20;w=1"]),
    field_values,
)


# What a record's SentTimestamp or ApproximateReceiveCount can be in an event that did not come
# from SQS (a direct invoke shaped like a batch): SQS sends whole numbers as strings.
_NOW_MS = st.integers(0, 2 * 10**13).map(str)


receipt_attribute_values = st.one_of(
    _NOW_MS,
    st.integers(-(10**20), 10**40).map(str),
    st.builds(lambda a, n, b: f"{a}{n}{b}", _WHITESPACE, st.integers(0, 10**13), _WHITESPACE),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "0", "-0", "00001", "1e12", "0x10", "١٢", "5\n", "None"]),
    st.none() | st.booleans() | st.integers() | st.floats() | st.lists(st.text(max_size=4)),
    field_values,
)
