"""The fleet scenario's report (bench/fleet.py): one row per run, and its section of
docs/benchmarks.md."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.doc_sections import replace_section

if TYPE_CHECKING:
    from bench.fleet import Run

LIMIT_PER_SECOND = 20  # the sales sandbox's, as OpenMRP's
# DynamoDB on-demand, US East (N. Virginia): $0.625 per million write request units
# (aws.amazon.com/dynamodb/pricing/on-demand, after the 2024-11-01 price cut). Every pacing
# call is an UpdateItem of an item under 1 KB, 1 WRU, failed conditions included; the one
# GetItem per container start (1 RRU, $0.125 per million) is counted as a write here.
DOLLARS_PER_MILLION_CALLS = 0.625


@dataclass
class Result:
    run: Run
    events: int
    seconds: float
    requests: int  # sales API requests received, 429s included
    refused: int
    partial: int
    complete: int
    dead_lettered: int
    left_on_queue: int
    handed_back: int
    calls: int  # DynamoDB calls of the pacers
    call_seconds: float
    fallbacks: int
    answers: list[float]
    busiest_second: int  # the most requests that arrived within one second

    @property
    def floor(self) -> float:
        return self.events / LIMIT_PER_SECOND

    @property
    def per_100(self) -> float:
        return self.refused * 100 / max(1, self.requests)

    @property
    def met(self) -> bool:
        return (
            self.per_100 <= 1
            and self.partial == 0
            and self.dead_lettered == 0
            and self.complete == self.events
            and self.seconds <= 1.3 * self.floor
        )

    def row(self) -> str:
        cost = self.calls / self.events * DOLLARS_PER_MILLION_CALLS
        added = self.call_seconds / max(1, self.requests - self.refused) * 1000
        answers = (
            f"; answers p50 {statistics.median(self.answers) * 1000:,.0f} ms"
            if self.answers
            else ""
        )
        time = f"{self.seconds:.1f} s ({self.seconds / self.floor:.2f}x)"
        if self.complete + self.partial < self.events:
            time = (
                f"not drained in {self.run.timeout:.0f} s: {self.complete + self.partial}"
                f" of {self.events} out"
            )
        met = ("yes" if self.met else "no") if self.run.targeted else "(not a target)"
        return (
            f"| {self.run.name} | {time} |"
            f" {self.per_100:.1f} ({self.refused} of {self.requests}; at most"
            f" {self.busiest_second} in a second) | {self.partial} |"
            f" {self.dead_lettered} | {self.handed_back} |"
            f" {self.calls} ({self.calls / self.events:.2f} per event), {added:.1f} ms per request"
            f"{answers} | ${cost:.2f} | {self.fallbacks} | {met} |"
        )


HEADER = (
    "| run | time (vs the floor, 15 s) | 429s per 100 requests | partial | dead-lettered |"
    " handed back | DynamoDB calls, their time per request | $ per 1M events (DynamoDB) |"
    " requests paced alone | met |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)


def busiest_second(arrivals: list[float]) -> int:
    most, first = 0, 0
    for last, arrived in enumerate(arrivals):
        while arrivals[first] <= arrived - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def table(results: list[Result]) -> str:
    return "\n".join([HEADER, *(r.row() for r in results)])


SECTION_START = "<!-- fleet: written by python -m bench.fleet --write -->"
SECTION_END = "<!-- /fleet -->"


def section(results: list[Result]) -> str:
    """The fleet's part of docs/benchmarks.md."""
    import os
    import platform
    from datetime import UTC, datetime

    by_name = {r.run.name: r for r in results}
    before_timeout = next((r.run.timeout for r in results if "before" in r.run.name), 60.0)
    events = results[0].events if results else 300
    paced, unpaced = (
        by_name.get("lone container, direct"),
        by_name.get("lone container, direct, pacing off"),
    )
    added = ""
    if paced and unpaced and paced.answers and unpaced.answers:
        difference = statistics.median(paced.answers) - statistics.median(unpaced.answers)
        added = (
            f" A lone container answering webhooks one at a time waited"
            f" {statistics.median(paced.answers) * 1000:,.0f} ms (p50) for each answer with the"
            f" fleet's pacing and {statistics.median(unpaced.answers) * 1000:,.0f} ms without"
            f" pacing: {difference * 1000:,.0f} ms added per request, the DynamoDB call that books"
            " its slot (it waits for no slot: alone, it sends fewer than 18.4 a second)."
        )
    return f"""{SECTION_START}
## (k) The fleet: one rate limit for every container

`python -m bench.fleet` (about 5 minutes; `make bench` runs it as scenario (k)), on
{datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores, Python {platform.python_version()}; the
machine was shared with other work while it ran. Each container is a process of its own
(`bench/fleet_container.py`) that imports the handler once and does what one Lambda container
does, one invocation at a time: polls the intake queue (batches of 25, a 1 s batching window:
the template's event source mapping, one poller per container, so the fleet's size is its
`MaximumConcurrency`), or answers HTTP webhooks back to back. All share one local stack in
another process (moto, the sandbox APIs at 50 ms) and so the sales sandbox's limit, OpenMRP's:
20 requests per second per client, a sliding window counted at arrival, `Retry-After` growing
1.5 times per refusal in a row. `PACING_TABLE` is the stack's table,
`PACING_FALLBACK_CONTAINERS` the fleet's size. Each run sends {events} events, each one
sales request; the floor is that ÷ 20/s = {events / LIMIT_PER_SECOND:.0f} s. "Time" runs
from the start signal to the last event on the output queue.

{table(results)}

- The DynamoDB cost is the pacers' calls (UpdateItem, and a few GetItem reads per container
  start that calibrate its clock) at $0.625 per million write request units, on-demand, US East
  (aws.amazon.com/dynamodb/pricing/on-demand), per million events. "Their time per request" is
  the time the pacers spent waiting for DynamoDB, spread over the requests sent.{added}
- The floor counts the limit, 20/s; the fleet's schedule runs at 92 % of it (18.4/s, so 300
  events need 16.3 s of slots), and the rest is the local event source mapping's receive and
  delete calls between batches (moto's ReceiveMessage slows as the queue holds more messages:
  45 ms a call at 300) and each container's start.
- "Table missing": `PACING_TABLE` names a table that does not exist; each container logs one
  ERROR naming it and paces itself at its share, 20 x 0.92 ÷ 3 in whole requests: 6 per
  second, evenly.
- "Before": the same fleet of 5 without `PACING_TABLE`, each container pacing itself at 20/s as
  before this change; the run stops after {before_timeout:.0f} s.
{SECTION_END}
"""


def cost_note(results: list[Result]) -> str:
    """What the fleet's pacing adds to the cost table (j), from the runs that used the table."""
    paced = [r for r in results if r.calls and not r.fallbacks]
    if not paced:
        return ""

    def spread(runs: list[Result]) -> str:
        per_event = sorted(r.calls / r.events for r in runs)
        dollars = [p * DOLLARS_PER_MILLION_CALLS for p in per_event]
        return (
            f"{per_event[0]:.2f}-{per_event[-1]:.2f} calls per event,"
            f" ${dollars[0]:.2f}-{dollars[-1]:.2f} per million events"
        )

    intake = [r for r in paced if r.run.mode == "intake"]
    direct = [r for r in paced if r.run.mode == "direct"]
    return (
        "\n\nThe fleet's pacing adds DynamoDB requests on demand, $0.625 per million write"
        " request units\n(US East; aws.amazon.com/dynamodb/pricing/on-demand): measured in (k),"
        f" {spread(intake)} from the\nintake queue (a booking per batch) and {spread(direct)} for"
        " direct webhooks (a booking each);\nthe per-run figures are in (k)'s table."
    )


def summary(results: list[Result]) -> tuple[str, str, str, str, str, str]:
    """Scenario (k)'s row of the main table: scenario, handler, baseline, ratio, target, met."""
    targeted = [r for r in results if r.run.targeted]
    worst = max(targeted, key=lambda r: r.seconds / r.floor)
    refused = sum(r.refused for r in targeted)
    requests = sum(r.requests for r in targeted)
    return (
        "(k) fleets of 3 and 5 containers and a lone one (processes), 300 events each,"
        " intake and direct, APIs at 50 ms, against the 20/s limit: the table below",
        f"slowest {worst.seconds / worst.floor:.2f}x the floor ({worst.run.name});"
        f" {refused} x 429 in {requests} requests;"
        f" {sum(r.partial for r in targeted)} partial;"
        f" {sum(r.dead_lettered for r in targeted)} dead-lettered",
        "—",
        f"{refused * 100 / max(1, requests):.2f} x 429 per 100 requests",
        "≤ 1 x 429 per 100 requests, 0 partial, 0 dead-lettered, ≤ 1.3x the floor",
        "yes" if all(r.met for r in targeted) else "no",
    )


def write_section(path: Path, text: str, row: tuple[str, ...] | None = None) -> None:
    """Puts the fleet's section into docs/benchmarks.md, in place of the last one, and its row
    into the main table, in place of the last (k) row."""
    current = path.read_text() if path.exists() else ""
    if row is not None:
        line = "| " + " | ".join(row) + " |"
        current = "\n".join(
            line if old.startswith("| (k) ") else old for old in current.split("\n")
        )
    path.write_text(replace_section(current, text, SECTION_START, SECTION_END))
