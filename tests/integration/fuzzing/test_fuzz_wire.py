"""The wire space through the handler (json_text_strategies.py, body_encoding_strategies.py):
hand-written JSON (lone surrogates, `\\u0000`, 1e400, nesting around the limit, duplicate keys),
multipart with its own part headers, charsets and malformations, and base64 variants each get
the answer the policy's reference reading gives."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from local.stand_ins.lambda_events import http_api_event
from tests.integration.fuzzing.body_encoding_strategies import base64_variants, multipart_bodies
from tests.integration.fuzzing.documented_answers import HTTP_BUILDERS, assert_http_answer
from tests.integration.fuzzing.fuzz_budget import FUZZ, FUZZ_MARKS, examples
from tests.integration.fuzzing.json_text_strategies import (
    Refused,
    json_documents,
    reference_reading,
)

pytestmark = FUZZ_MARKS


@settings(FUZZ, max_examples=examples(400))
@given(document=json_documents, kind=st.sampled_from(sorted(HTTP_BUILDERS)), utf16=st.booleans())
def test_json_text_gets_the_answer_the_policy_gives(stack, invoke, document, kind, utf16):
    raw = document.encode("utf-16" if utf16 and kind == "v2" else "utf-8")
    result = invoke(HTTP_BUILDERS[kind](raw, content_type="application/json"))
    try:
        expected = reference_reading(document)
    except Refused:
        assert result["statusCode"] == 400, document
        assert_http_answer(stack, result)
        return
    assert result["statusCode"] == 202, document
    assert_http_answer(stack, result, expected)


@settings(FUZZ, max_examples=examples(400))
@given(multipart=multipart_bodies(), kind=st.sampled_from(sorted(HTTP_BUILDERS)))
def test_multipart_bodies_get_documented_answers(stack, invoke, multipart, kind):
    body, content_type = multipart
    build = HTTP_BUILDERS[kind]
    event = build(body, content_type=content_type, base64_encode=True)
    assert_http_answer(stack, invoke(event))


@settings(FUZZ, max_examples=examples(200))
@given(
    data=st.data(),
    raw=st.one_of(
        st.binary(max_size=200),
        json_documents.map(lambda d: d.encode()),
        multipart_bodies().map(lambda m: m[0]),
    ),
    content_type=st.sampled_from(
        ["application/json", "multipart/form-data; boundary=b", None, "application/octet-stream"]
    ),
)
def test_base64_variants_get_documented_answers(stack, invoke, data, raw, content_type):
    event = http_api_event(raw, content_type=content_type, base64_encode=True)
    event["body"] = data.draw(base64_variants(raw))
    result = invoke(event)
    if event["body"] != base64.b64encode(raw).decode():
        assert result["statusCode"] in (400, 413)  # API Gateway's own alphabet, padded, only
    assert_http_answer(stack, result)
