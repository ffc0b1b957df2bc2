"""The outage backoff's arithmetic (outage_backoff.py): the waits of a record that keeps failing
fill its window with the hand-backs its receives allow, grow geometrically, are jittered
downwards only, and stay within what SQS takes. Through the handler and moto:
tests/integration/test_outage_waits.py."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forwarding.outage_backoff import (
    GROWTH,
    MAX_WAIT_SECONDS,
    MIN_WAIT_SECONDS,
    next_wait,
    nominal_wait,
)


def schedule(window: float, receives: int, draw=lambda: 0.0) -> list[float]:
    """The waits of a record that fails on every receive, first tried as it arrives."""
    waits, age = [], 0.0
    for receive in range(1, receives):
        waits.append(next_wait(window - age, receives - receive, draw))
        age += waits[-1]
    return waits


def test_the_defaults_fit_four_hand_backs_into_the_window():
    """900 s and 5 receives: tries at 0, ~11 s, ~53 s, ~3.7 min, and the last at 15 min."""
    waits = schedule(900, 5)
    assert [round(w, 1) for w in waits] == [10.6, 42.4, 169.4, 677.6]
    assert math.isclose(sum(waits), 900)
    for shorter, longer in itertools.pairwise(waits):
        assert math.isclose(longer / shorter, GROWTH, rel_tol=0.01)


@given(
    window=st.floats(10, 43_200),
    receives=st.integers(2, 30),
    draws=st.lists(st.floats(0, 1), min_size=30, max_size=30),
)
def test_the_last_try_comes_when_the_window_ends_whatever_the_jitter(window, receives, draws):
    it = iter(draws)
    waits = schedule(window, receives, lambda: next(it))
    # Each hand-back but the last is jittered down; the last waits out what is left, so the
    # last receive comes at the window's end (unless the one-second floor already passed it, or
    # the one wait left is longer than SQS holds a message back).
    assert (
        sum(waits) >= window - 1e-6
        or all(w == MIN_WAIT_SECONDS for w in waits)
        or waits[-1] == MAX_WAIT_SECONDS
    )
    assert all(MIN_WAIT_SECONDS <= w <= MAX_WAIT_SECONDS for w in waits)


@pytest.mark.parametrize("draw", [0.0, 0.5, 1.0])
def test_jitter_takes_a_wait_down_to_half_never_up(draw):
    nominal = nominal_wait(900, 4)
    assert next_wait(900, 4, lambda: draw) == pytest.approx(nominal * (1 - 0.5 * draw))


def test_receives_spent_otherwise_make_the_later_waits_longer_not_the_window_shorter():
    """A record that waited for a rate limit on receives 1 and 2 has two hand-backs left."""
    spared = next_wait(880, 3, lambda: 0.0)
    spent = next_wait(880, 2, lambda: 0.0)
    assert spent > spared
    assert math.isclose(spent + next_wait(880 - spent, 1), 880)


@pytest.mark.parametrize(
    ("left", "hand_backs", "expected"),
    [
        (0.2, 1, MIN_WAIT_SECONDS),  # never straight back into the batch that failed
        (-5.0, 3, MIN_WAIT_SECONDS),
        (float("nan"), 2, MIN_WAIT_SECONDS),
        (1e12, 1, MAX_WAIT_SECONDS),  # SQS refuses more than 12 hours in all
        (float("inf"), 1, MAX_WAIT_SECONDS),
    ],
)
def test_a_wait_stays_within_what_sqs_takes(left, hand_backs, expected):
    assert next_wait(left, hand_backs, lambda: 0.0) == expected


def test_a_queue_allowing_a_thousand_receives_does_not_overflow():
    assert next_wait(900, 999, lambda: 0.0) == MIN_WAIT_SECONDS
    assert nominal_wait(900, 999) > 0
