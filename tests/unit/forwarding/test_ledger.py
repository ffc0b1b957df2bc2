"""The delivery ledger on DynamoDB (moto's, in the local stack): a delivery is claimed once,
remembered with its answer, released when it could not be forwarded; an id reused for other
content is told apart from a duplicate; no time left means nothing written; a store that fails
means forward anyway, logged once."""

from __future__ import annotations

import pytest

from checks.delivery import Delivery
from forwarding.ledger import DeliveryLedger
from platform_services.deadlines import Deadline

HOLD_MS = 60_000


def delivery(event_id: str = "sub-1", content: str = "first") -> Delivery:
    source = {"kind": "http", "provider": "typeform"}
    return Delivery(event_id, source, {"content": content}, None, "2026-12-06T00:00:00.000Z")


@pytest.fixture
def ledgers(stack, function_env):
    made: list[DeliveryLedger] = []

    def make(purpose: str = "delivery", table: str | None = None) -> DeliveryLedger:
        made.append(DeliveryLedger(table or stack.table_name, 4, purpose))
        return made[-1]

    yield make
    for ledger in made:
        ledger.close()


def test_a_delivery_is_claimed_once_then_answered_with_what_it_was_answered(ledgers):
    first, second = ledgers(), ledgers()  # two containers
    one = delivery()
    assert first.claim([one], HOLD_MS).fresh == [one]
    assert second.claim([one], HOLD_MS).in_progress == {one.key}
    first.settle({one.key: {"event_id": "sub-1", "status": "enriched"}}, [])
    assert second.claim([one], HOLD_MS).answered == {
        one.key: {"event_id": "sub-1", "status": "enriched"}
    }


def test_a_failed_delivery_is_released_for_the_senders_retry(ledgers):
    ledger = ledgers()
    one = delivery()
    ledger.claim([one], HOLD_MS)
    ledger.settle({}, [one.key])
    assert ledger.claim([one], HOLD_MS).fresh == [one]


def test_the_same_id_with_other_content_is_reused_not_a_duplicate(ledgers):
    ledger = ledgers()
    ledger.claim([delivery(content="first")], HOLD_MS)
    other = delivery(content="second")
    claims = ledger.claim([other], HOLD_MS)
    assert claims.reused == {other.key}
    assert claims.fresh == []


def test_one_batch_holding_an_id_twice_claims_the_first_and_finds_the_second_reused(ledgers):
    first, second = delivery(content="first"), delivery(content="second")
    claims = ledgers().claim([first, second], HOLD_MS)
    assert claims.fresh == [first]
    assert claims.reused == {second.key}


def test_no_time_left_is_late_and_writes_nothing(ledgers):
    ledger = ledgers()
    one = delivery()
    claims = ledger.claim([one], HOLD_MS, deadline=Deadline.in_seconds(0))
    assert claims.late == [one]
    assert ledger.claim([one], HOLD_MS).fresh == [one]  # nothing was written


def test_purposes_keep_their_own_records_in_one_table(ledgers):
    one = delivery()
    assert ledgers("delivery").claim([one], HOLD_MS).fresh == [one]
    assert ledgers("accepted").claim([one], HOLD_MS).fresh == [one]


def test_a_store_that_fails_forwards_anyway_and_says_so_once(ledgers, function_logs):
    ledger = ledgers(table="no-such-table")
    batch = [delivery("a"), delivery("b"), delivery("c")]
    assert ledger.claim(batch, HOLD_MS, Deadline.in_seconds(10)).fresh == batch
    warnings = [line for line in function_logs().splitlines() if "store unavailable" in line]
    assert len(warnings) == 1
    assert '"deliveries":3' in warnings[0].replace(" ", "")
