"""What the fuzz suite sends over HTTP: content types, JSON values, emails (some valid, some with
characters a URL must escape, some not emails at all), bodies and webhook headers."""

from __future__ import annotations

import json
import string

from hypothesis import strategies as st

content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/vnd.api+json",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/x-www-form-urlencoded; charset=no-such-charset",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "text/plain",
            "application/xml",
            "",
            ";;;",
            "application/json; charset=",
        ]
    ),
    st.text(max_size=40),
)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


tricky_local = st.text(
    alphabet=string.ascii_letters + string.digits + "+/?#%'!*&=._-~ü€",
    min_size=1,
    max_size=70,
)


domains = st.from_regex(r"[a-z0-9]{1,12}(\.[a-z]{2,6}){1,2}", fullmatch=True)


emails = st.one_of(
    st.emails(),
    st.builds(lambda local, domain: f"{local}@{domain}", tricky_local, domains),
    st.builds(
        lambda name, addr: f"{name} <{addr}>",
        st.text(string.ascii_letters, max_size=10),
        st.emails(),
    ),
    st.builds(lambda addr: f"  {addr.upper()}  ", st.emails()),
    st.text(max_size=80),
)


bodies = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.text(max_size=10), emails | st.text(max_size=20), max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
    st.lists(st.tuples(st.text(max_size=8), emails), max_size=4).map(
        lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()
    ),
)


header_names = st.sampled_from(
    [
        "webhook-id",
        "idempotency-key",
        "x-webhook-id",
        "webhook-signature",
        "webhook-timestamp",
        "x-anything",
    ]
)


headers = st.dictionaries(header_names, st.text(string.printable, max_size=40), max_size=4)
