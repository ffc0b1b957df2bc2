"""What a million events cost in Lambda, from measured invocations (bench/footprint.py).

The model, stated so it can be checked:
- Lambda bills requests and duration times configured memory (GB-seconds), arm64 prices below.
- A function gets CPU in proportion to its memory: one full vCPU at 1,769 MB (AWS Lambda
  developer guide, "Configuring function memory"). An invocation measured here on a full core
  takes `wall` seconds of which `cpu` are CPU; at M MB its CPU part stretches by 1769/M:
      duration(M) = wall - cpu + cpu * max(1, 1769 / M)
  (the waiting part, the APIs' latency, does not change with memory).
- "Keeps the timings": the smallest size, in 64 MB steps from 128 MB, at which every kind of
  invocation stays within 10 % of its full-core time and the measured peak memory fits with
  room to spare (the Lambda runtime's own share included).
- Init (cold start) duration, also billed, is left out: it is paid once per container, not per
  event, and depends on traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# arm64, US East (N. Virginia), first pricing tier: aws.amazon.com/lambda/pricing (2026-11).
PRICE_PER_GB_SECOND = 0.0000133334
PRICE_PER_MILLION_REQUESTS = 0.20
FULL_VCPU_MB = 1769
MEMORY_STEP_MB = 64
SMALLEST_MB = 128
# What the Lambda Python runtime itself holds besides the function (its bootstrap, buffers).
RUNTIME_OVERHEAD_MB = 40
MEMORY_HEADROOM = 1.5  # peak times this, so that a larger payload or batch does not run out
KEEP_TIMINGS_WITHIN = 1.10


@dataclass(frozen=True)
class Measured:
    """One kind of invocation, as bench/footprint.py measured it."""

    events_per_invocation: int
    wall_seconds: float
    cpu_seconds: float
    peak_mib: float

    def duration(self, memory_mb: int) -> float:
        stretch = max(1.0, FULL_VCPU_MB / memory_mb)
        return self.wall_seconds - self.cpu_seconds + self.cpu_seconds * stretch

    def keeps_timings(self, memory_mb: int) -> bool:
        return self.duration(memory_mb) <= KEEP_TIMINGS_WITHIN * self.wall_seconds


@dataclass(frozen=True)
class Cost:
    memory_mb: int
    requests: int  # invocations per million events
    gb_seconds: float
    dollars: float


def per_million_events(measured: Measured, memory_mb: int) -> Cost:
    invocations = math.ceil(1_000_000 / measured.events_per_invocation)
    # Billed in whole milliseconds, rounded up.
    billed_seconds = math.ceil(measured.duration(memory_mb) * 1000) / 1000
    gb_seconds = invocations * billed_seconds * memory_mb / 1024
    dollars = (
        gb_seconds * PRICE_PER_GB_SECOND + invocations / 1_000_000 * PRICE_PER_MILLION_REQUESTS
    )
    return Cost(memory_mb, invocations, gb_seconds, dollars)


def smallest_memory_keeping_timings(kinds: list[Measured]) -> int:
    """The smallest size at which every kind keeps its timings and fits in memory."""
    needed = max(k.peak_mib for k in kinds) * MEMORY_HEADROOM + RUNTIME_OVERHEAD_MB
    memory = SMALLEST_MB
    while memory < needed or not all(k.keeps_timings(memory) for k in kinds):
        memory += MEMORY_STEP_MB
    return memory


@dataclass(frozen=True)
class ColdPath:
    """A container's first webhook (import included), as bench/cold_path.py measured it."""

    wall_seconds: float
    cpu_seconds: float

    def duration(self, memory_mb: int) -> float:
        return Measured(1, self.wall_seconds, self.cpu_seconds, 0).duration(memory_mb)
