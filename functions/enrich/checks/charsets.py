"""Text in the charset its sender names: real charsets only, decoded strictly."""

from __future__ import annotations

import codecs

from checks import strict_json
from checks.check_failures import BodyRejected

# Python codecs that are no charset a sender can mean; UTF-7 as the WHATWG Encoding standard
# treats it (it smuggles markup past filters and decodes to lone surrogates).
_NOT_CHARSETS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "utf-7"}
)


def decode_text(data: bytes, charset: str, what: str) -> str:
    """`what` names the text in refusals: "the body", "a multipart field"."""
    unsupported = f"{what} names a charset that is not supported"
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError, TypeError):
        raise BodyRejected(unsupported) from None
    if name in _NOT_CHARSETS:
        raise BodyRejected(unsupported)
    try:
        text = data.decode(name)
    except LookupError:  # a bytes-to-bytes codec such as base64 or zlib
        raise BodyRejected(unsupported) from None
    except (UnicodeDecodeError, ValueError):
        raise BodyRejected(f"{what} is not valid {name}") from None
    return strict_json.accepted(text)  # whatever a codec yields, never a lone surrogate
