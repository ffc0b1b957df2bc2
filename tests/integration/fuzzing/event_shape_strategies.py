"""Hypothesis strategies for odd shapes of every source's event (fields removed or replaced, as a
direct invoke can send them) and for SQS bodies that claim to be queued webhooks."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.integration.fuzzing.json_text_strategies import EMAIL

# What a field of a Lambda event can be replaced with: any JSON value a direct invoke can carry.
odd_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = (), depth: int = 0) -> list[tuple]:
    """Every key (or list index) down to three levels: what a mutation can reach."""
    found = []
    if depth < 3 and isinstance(value, dict):
        for key, child in value.items():
            found.append((*prefix, key))
            found += _paths(child, (*prefix, key), depth + 1)
    elif depth < 3 and isinstance(value, list):
        for index, child in enumerate(value[:3]):
            found.append((*prefix, index))
            found += _paths(child, (*prefix, index), depth + 1)
    return found


@st.composite
def odd_shapes(draw: st.DrawFn, event: dict[str, Any]) -> dict[str, Any]:
    """`event` (a real one, as AWS shapes it) with one to three fields removed or replaced by
    another JSON value: the shape of a direct invoke that only looks like that source."""
    mutated = json.loads(json.dumps(event))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(mutated)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = mutated
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(odd_values)
    return mutated


QUEUED_SCHEMA = "queued-webhook/v1"


@st.composite
def queued_claims(draw: st.DrawFn) -> dict[str, Any]:
    """An intake body that says it is a queued webhook, well formed or not: what another
    producer on the intake queue can write (and what the edge writes, for the signed ones)."""
    claim: dict[str, Any] = {
        "schema": QUEUED_SCHEMA,
        "event_id": draw(st.one_of(st.text(min_size=1, max_size=20), odd_values)),
        "received_at": draw(st.one_of(st.just("2026-11-28T10:00:00.000Z"), odd_values)),
        "source": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "kind": st.sampled_from(["http", "eventbridge", "direct", "sqs"]),
                        "provider": st.sampled_from(["typeform", "tally", "website"]),
                    }
                ),
                odd_values,
            )
        ),
        "email": draw(st.one_of(st.just(EMAIL), st.none(), odd_values)),
        "email_path": draw(st.one_of(st.just("email"), odd_values)),
        "payload": draw(st.one_of(st.just({"email": EMAIL}), odd_values)),
    }
    optional = sorted(key for key in claim if key != "schema")
    for key in draw(st.lists(st.sampled_from(optional), max_size=2, unique=True)):
        del claim[key]
    return claim
