"""How many examples the fuzz suite draws: `make test` runs 4,030; `make fuzz` sets FUZZ_SCALE=4,
which multiplies every count: 16,120 examples (docs/testing.md). Each test's count is its
`examples(n)`; a new test's count goes into the totals there and in the Makefile. Every fuzz
module runs with FUZZ_MARKS."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

# Thousands of hypothesis examples through the handler: left out of `make test-fast`. The
# recursive strategies' own repr is long; Hypothesis warns when it builds it for a report.
FUZZ_MARKS = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Generating overly large repr")]

FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, round(count * FUZZ_SCALE))
