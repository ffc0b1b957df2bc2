from checks.delivery_ids import content_id, delivery_key, safe_id, sender_id, sender_scope


def test_headers_first_in_order():
    headers = {"idempotency-key": "idem-1", "webhook-id": "msg_1"}
    assert sender_id(headers, {"event_id": "body-1"}) == "msg_1"
    assert sender_id({"idempotency-key": "idem-1"}, {"event_id": "body-1"}) == "idem-1"


def test_payload_fields_of_typeform_tally_jotform():
    assert sender_id({}, {"event_id": "01JD3K"}) == "01JD3K"
    assert sender_id(None, {"eventId": "a8c5"}) == "a8c5"
    assert sender_id(None, {"submissionID": 598765}) == "598765"


def test_a_forms_own_id_is_not_a_delivery_id():
    assert sender_id(None, {"id": "form-1", "email": "a@x.io"}) is None
    assert sender_id(None, {"event_id": True}) is None
    assert sender_id(None, ["event_id"]) is None


def test_content_id_ignores_key_order_and_spacing_but_not_content():
    assert content_id("http", "p", {"a": 1, "b": 2}) == content_id("http", "p", {"b": 2, "a": 1})
    assert content_id("http", "p", {"a": 1}) != content_id("http", "p", {"a": 2})
    assert content_id("http", "p", {"a": 1}) != content_id("http", "q", {"a": 1})


def test_ids_sqs_would_refuse_are_hashed_deterministically():
    weird = "ünïcode id with spaces " * 10
    assert safe_id(weird) == safe_id(weird)
    assert safe_id(weird).startswith("sha256-")
    assert safe_id("msg_2pQx8Lr3Vd7Hk0Zs9Yb4Nc1Mw6") == "msg_2pQx8Lr3Vd7Hk0Zs9Yb4Nc1Mw6"


def test_scope_names_the_sender_not_just_the_source_kind():
    route = {"kind": "http", "route": "/webhooks/siteA", "provider": "siteA"}
    assert sender_scope(route) == "http:siteA"
    assert sender_scope({"kind": "http", "route": "/", "provider": None}) == "http:/"
    assert sender_scope({"kind": "sqs", "queue": "webhook-intake"}) == "sqs:webhook-intake"
    bridged = {"kind": "eventbridge", "event_source": "forms", "detail_type": "Submitted"}
    assert sender_scope(bridged) == "eventbridge:forms"
    assert sender_scope({"kind": "direct"}) == "direct"


def test_two_deliveries_are_one_only_with_the_same_sender_id_and_content():
    site_a = {"kind": "http", "provider": "siteA"}
    key = delivery_key("1001", site_a, {"email": "a@x.io", "n": 1})
    assert key == delivery_key("1001", site_a, {"n": 1, "email": "a@x.io"})
    assert key != delivery_key(
        "1001", {"kind": "http", "provider": "siteB"}, {"email": "a@x.io", "n": 1}
    )
    reused = delivery_key("1001", site_a, {"email": "b@x.io", "n": 1})
    assert (reused.scope, reused.event_id) == (key.scope, key.event_id)
    assert reused.fingerprint != key.fingerprint
    assert len({key.digest, reused.digest}) == 2
    assert safe_id(key.digest) == key.digest  # a valid FIFO MessageDeduplicationId as it is
