"""What SQS says of a record, read leniently (queue_receipts.py): anything SQS could not have
sent makes the record new, never an error."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarding.queue_receipts import MAX_AGE_SECONDS, Receipt, receipt, received_at, sent_at_ms

NOW = 1_796_000_000.0


def test_what_sqs_sends_is_read_as_it_is():
    attributes = {"SentTimestamp": str(int((NOW - 30) * 1000)), "ApproximateReceiveCount": "3"}
    assert receipt(attributes, NOW) == Receipt(NOW - 30, 3)
    assert receipt(attributes, NOW).age(NOW) == pytest.approx(30)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "abc",
        "1.5e12",
        "-1",
        " 1796000000000",
        "1796000000000 ",
        "\uff19\uff19",
        1796000000000,
        [],
    ],
)
def test_a_sent_timestamp_that_is_no_number_makes_the_record_new(value):
    attributes = {"ApproximateReceiveCount": "2"}
    if value is not None:
        attributes["SentTimestamp"] = value
    assert receipt(attributes, NOW) == Receipt(NOW, 2)
    assert sent_at_ms(attributes) is None


@pytest.mark.parametrize(
    "sent_at",
    [
        NOW + 3600,  # later than now: no record's
        NOW - MAX_AGE_SECONDS - 60,  # older than SQS keeps a message
        0,
        253402300799.999,  # the last millisecond a datetime holds
    ],
)
def test_a_time_no_record_can_have_makes_it_new(sent_at):
    attributes = {"SentTimestamp": str(int(sent_at * 1000)), "ApproximateReceiveCount": "1"}
    assert receipt(attributes, NOW).age(NOW) == 0


@pytest.mark.parametrize(
    ("value", "count"),
    [("1", 1), ("5", 5), ("0", 1), ("-3", 1), ("2.0", 1), ("", 1), (None, 1), (7, 1), ("x", 1)],
)
def test_a_receive_count_that_is_no_whole_number_makes_it_a_first_receive(value, count):
    attributes = {} if value is None else {"ApproximateReceiveCount": value}
    assert receipt(attributes, NOW).receive_count == count


def test_received_at_is_when_sqs_received_it_or_now():
    assert received_at({"SentTimestamp": "1796000000123"}) == "2026-11-30T00:53:20.123Z"
    before = time.time()
    for attributes in ({}, {"SentTimestamp": "999999999999999999"}, {"SentTimestamp": "later"}):
        read = received_at(attributes)
        assert read.endswith("Z")
        assert read >= time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before))


@given(
    st.dictionaries(
        st.sampled_from(["SentTimestamp", "ApproximateReceiveCount", "SenderId"]),
        st.one_of(st.text(), st.integers(), st.none(), st.floats(), st.lists(st.text())),
    )
)
def test_any_attributes_give_a_receipt_no_older_than_sqs_keeps_a_message(attributes):
    read = receipt(attributes, NOW)
    assert 0 <= read.age(NOW) <= MAX_AGE_SECONDS
    assert read.receive_count >= 1
    assert received_at(attributes).endswith("Z")
