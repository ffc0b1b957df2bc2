"""The benchmark's report: rows, figures as text, and docs/benchmarks.md's page."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import webhook_modes
from bench.doc_sections import find_section
from bench.measuring import Timing

COMMAND = "make bench"


@dataclass
class Row:
    scenario: str
    handler: str
    baseline: str
    ratio: str
    target: str
    met: str


def ms(seconds: float, digits: int = 0) -> str:
    """Milliseconds; a median of repeated runs with its min-max and the number of runs."""
    text = f"{seconds * 1000:,.{digits}f} ms"
    if isinstance(seconds, Timing) and seconds.runs > 1:
        low, high = seconds.low * 1000, seconds.high * 1000
        text += f" ({low:,.{digits}f}-{high:,.{digits}f}, {seconds.runs} runs)"
    return text


def yes(met: bool) -> str:
    return "yes" if met else "no"


def table(rows: list[Row], header: bool = True) -> str:
    lines = []
    if header:
        lines += [
            "| scenario | handler | naive baseline | ratio | target | met |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    lines += [
        f"| {r.scenario} | {r.handler} | {r.baseline} | {r.ratio} | {r.target} | {r.met} |"
        for r in rows
    ]
    return "\n".join(lines)


def page(rows: list[Row], notes: list[str], quick: bool, cost_table: str, minutes: float) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    flags = " --quick" if quick else ""
    measured = "\n".join(f"- {note}" for note in notes)
    return f"""# Benchmarks

Produced by `{COMMAND}` (`python -m bench.run --write docs/benchmarks.md{flags}`) on
{datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()},
{platform.system()} {platform.machine()}. The handler is the real one, in this process, against
the local stack in another process (sandbox APIs over HTTP on 127.0.0.1, moto's server for SQS),
with latency injected into both sandbox APIs. Times are medians of repeated runs, the fastest and
the slowest run and the number of runs in brackets (min-max, runs); every run uses fresh email
addresses so that only scenario (c) can hit the cache. The run took {minutes:.0f} minutes. The
baseline (`bench/baseline.py`) does the naive thing: one event at a time, Minimo, then the sales
API, then `SendMessage`, a new connection per request.

{table(rows)}

Measured alongside:

{measured}

Cost per million events (j), from one container's worth of invocations measured in a fresh
process with the APIs at 50 ms (`bench/footprint.py`), priced by the model in `bench/cost.py`:
Lambda arm64 at $0.0000133334 per GB-second and $0.20 per million requests (US East, first
tier, aws.amazon.com/lambda/pricing); at M MB a function gets M/1,769 of a vCPU, so an
invocation's CPU time stretches by 1,769/M while its waiting does not; the smallest size that
keeps the timings is the smallest (64 MB steps) at which every kind of invocation stays within
10 % of its full-core time and 1.5 times the peak memory, plus 40 MB for the runtime, fits.
Init (cold start) time is billed too and left out here: it is per container, not per event.

{cost_table or "(not measured in this run)"}

How to read it:

- (a) The two lookups overlap, so one event costs about one API latency instead of two.
- (b) A batch is deduplicated, looked up with `MAX_CONCURRENCY` (16) requests in flight per API,
  and sent with `SendMessageBatch` in chunks of 10; the baseline pays two latencies and one SQS
  round trip per event, in series.
- (c) Inside `LOOKUP_CACHE_TTL_SECONDS` a warm container answers from its cache: no API calls.
- (d) With the APIs answering at once, what is left is the handler's own work plus loopback HTTP
  to the sandboxes and to moto (whose SQS emulation is slower than SQS's own front end). A single
  HTTP event also pays a whole SQS call for one message; in a batch, that is shared by ten.
- (b2) The floor is what the batch cannot beat with 16 lookups in flight: seven rounds of 50 ms,
  then one last `SendMessageBatch`. Events are built and sent in batches of ten as their lookups
  finish, so the sends overlap the lookups.
- (e) The cold path is measured in fresh processes, as Lambda starts a container: the handler
  with `LAMBDA_TASK_ROOT` and `PYTHONPATH` naming its folder as `make build` ships it (bytecode
  included, nothing written down) and tracing on (the X-Ray SDK loaded, segments sent over UDP),
  the naive path importing boto3 and requests; nothing else is imported before the clock starts,
  and the kinds take turns. At 0 ms the lookups cost nothing and the ratio is the code's own; at
  50 ms the handler's lookups overlap and the naive path's do not.
- (a)-(d) measure the pipeline itself: the sales sandbox's rate limit and the handler's pacing
  are off for them. (f) and (g) keep both as deployed: the sandbox enforces OpenMRP's 20
  requests per second (sliding window, growing `Retry-After`) and the handler paces at
  `SALES_API_MAX_RPS=20` through the fleet's schedule (`PACING_TABLE`, which runs at 92 % of the
  limit). The floor is the limit's: requests ÷ 20 per second. "Complete" events
  are enriched or not found; "handed back" are SQS records returned to wait (none should be, with
  a 30 s budget). The baseline is sequential, so its own latency keeps it under the limit; the
  handler without pacing is what retrying into the limit costs.
"""


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


def kept_sections(path: Path) -> str:
    """Sections other scripts write into the same file (bench/limits.py, bench/outage.py), kept
    as they are."""
    from bench import limits, outage

    current = path.read_text() if path.exists() else ""
    kept = ""
    for start, end in ((limits.START, limits.END), (outage.START, outage.END)):
        if where := find_section(current, start, end):
            kept += "\n" + current[where[0] : where[1]] + "\n"
    return kept


def burst_summary(run: webhook_modes.Burst, floor: float) -> str:
    statuses = ", ".join(f"{n} x {status}" for status, n in sorted(run.statuses.items()))
    return (
        f"answers p50 {ms(run.answer_percentile(0.5))}, p99 {ms(run.answer_percentile(0.99))}"
        f" ({statuses}); last event out after {run.last_enriched_after:.1f} s"
        f" ({run.last_enriched_after / floor:.2f}x the floor); {run.lost} lost,"
        f" {run.duplicates} duplicated, {run.partial} partial,"
        f" {run.refused} x 429"
    )
