"""What a signature check reads of a request, and the comparisons every scheme shares."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from checks.check_failures import SignatureRejected

# HTTP's optional whitespace around a value (RFC 9110 5.6.3); str.strip() would also trim
# Unicode spaces such as U+2028, which no sender puts in a header.
OWS = " \t"
# A Unix time in ASCII digits: int() alone would also take "+1", " 1", "1_0" and other scripts'
# digits. 16 digits cover milliseconds far beyond any plausible clock.
_DIGITS = re.compile(r"[0-9]{1,16}")


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The parts of an HTTP request a scheme may check.

    `headers` is case-insensitive, with a repeated header's values joined by commas (as API
    Gateway's payload 2.0 joins them), so a duplicated signature header never verifies.
    `query` holds the decoded query parameters in order, each repeat kept. `uri` builds the URL
    the sender used (HubSpot signs it); it is called only by the scheme that needs it.
    """

    headers: Mapping[str, str]
    body: bytes
    method: str = "POST"
    query: tuple[tuple[str, str], ...] = ()
    uri: Callable[[], str] | None = field(default=None, repr=False)
    content_type: str | None = None


def unauthorized(message: str) -> SignatureRejected:
    return SignatureRejected(message)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def any_equal(offered: Iterable[str], expected: Iterable[str]) -> bool:
    """Every pair is compared, in constant time, so timing tells nothing about which came close.
    Both sides are hashed first: equal lengths, whatever was sent (compare_digest's time depends
    on the lengths)."""
    wanted = [hashlib.sha256(value.encode()).digest() for value in expected]
    matched = False
    for candidate in offered:
        digest = hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest()
        for value in wanted:
            matched |= hmac.compare_digest(digest, value)
    return matched


def unix_time(value: str | None, name: str) -> int:
    """The header's integer value; refused, naming the header, when it is anything else."""
    if value is None or not _DIGITS.fullmatch(value.strip(OWS)):
        raise unauthorized(f"{name} is not a Unix time")
    return int(value)


def check_age(sent_at: int, now: float, name: str, *, milliseconds: bool, tolerance: int) -> None:
    """Refuses a time outside `tolerance` seconds of now, either way; says so plainly when the
    time was sent in the other unit (seconds where milliseconds are expected, or the reverse)."""
    seconds = sent_at / 1000 if milliseconds else sent_at
    if abs(now - seconds) <= tolerance:
        return
    other = sent_at if milliseconds else sent_at / 1000
    if abs(now - other) <= tolerance:
        unit = "milliseconds" if milliseconds else "seconds"
        raise unauthorized(f"{name} must be a Unix time in {unit}")
    raise unauthorized(f"{name} is outside the {tolerance // 60}-minute tolerance")
