"""How many examples the fuzz suite draws: `make test` runs 4,030; `make fuzz` sets FUZZ_SCALE=4,
which multiplies every count: 16,120 examples (docs/testing.md). Each test's count is its
`examples(n)`; a new test's count goes into the totals there and in the Makefile."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


FUZZ_SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(count: int) -> int:
    return max(1, round(count * FUZZ_SCALE))
