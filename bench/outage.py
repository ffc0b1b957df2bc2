"""The outage scenario: a fleet of containers (processes of their own, bench/fleet.py) drains 300
intake records while Minimo answers 503 for the first 20 s, then recovers.

    python -m bench.outage                              # on its own (about 4 minutes)
    python -m bench.outage --write docs/benchmarks.md   # and puts it in its section there

Runs (RUNS): the same drain with no outage (the floor it is held to), with the outage and the
retry window (LOOKUP_RETRY_WINDOW_SECONDS, 900 s), and with the outage and no window (0: each
record out `partial` at once, as before waiting existed). The outage starts as the fleet does.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from bench.doc_sections import write_section
from bench.fleet import Fleet, Run
from bench.fleet_report import Result
from local.stand_ins.stack_resources import (
    INTAKE_MAX_RECEIVE_COUNT,
    INTAKE_VISIBILITY_SECONDS,
    TABLE,
)

START, END = "<!-- bench.outage -->", "<!-- /bench.outage -->"
OUTAGE_SECONDS = 20.0
CONTAINERS = 3
TARGET = 1.3  # x (the outage + the floor)


@dataclass
class OutageRun:
    run: Run
    outage: float  # seconds of 503 from Minimo, from the start signal


RUNS = [
    OutageRun(Run("no outage (the floor)", "intake", CONTAINERS), 0.0),
    OutageRun(Run("Minimo 503 for 20 s, window 900 s", "intake", CONTAINERS), OUTAGE_SECONDS),
    OutageRun(
        Run(
            "Minimo 503 for 20 s, LOOKUP_RETRY_WINDOW_SECONDS=0 (before)",
            "intake",
            CONTAINERS,
            {"LOOKUP_RETRY_WINDOW_SECONDS": "0"},
            targeted=False,
        ),
        OUTAGE_SECONDS,
    ),
]


class OutageFleet(Fleet):
    """bench/fleet.py's fleet, with the answers of waiting records kept (IDEMPOTENCY_TABLE, as
    the template sets it) and Minimo down for `outage` seconds from the start signal."""

    def __init__(self, env: dict[str, str], logs: Path | None = None, events: int = 300) -> None:
        super().__init__({"IDEMPOTENCY_TABLE": TABLE, **env}, logs, events)
        self._outage = 0.0

    def run_outage(self, outage_run: OutageRun) -> Result:
        self._outage = outage_run.outage
        try:
            return self.run(outage_run.run)
        finally:
            self.minimo.start_outage(0)

    def _start(self, run: Run, emails: list[str], folder: Path):  # type: ignore[override]
        started = super()._start(run, emails, folder)
        if self._outage:  # the containers are ready: the next thing they hear is "go"
            self.minimo.start_outage(self._outage, 503)
        return started


def row(result: Result, floor: float | None) -> str:
    """`floor`: the no-outage run's time, for the runs held to it."""
    if floor is None:
        held = "— | —"
    else:
        due = OUTAGE_SECONDS + floor
        held = f"{result.seconds / due:.2f}x | {TARGET * due:.1f} s"
    return (
        f"| {result.run.name} | {result.seconds:.1f} s | {held} | {result.complete} |"
        f" {result.partial} | {result.dead_lettered} | {result.left_on_queue} |"
        f" {result.handed_back} |"
    )


def table(results: list[Result]) -> str:
    floor = results[0].seconds if results and "floor" in results[0].run.name else None
    lines = [
        "| run | last out | ÷ (20 s + floor) | target | enriched or not_found | partial"
        " | dead-lettered | left on queue | handed back |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        held = result is not results[0] and result.run.targeted
        lines.append(row(result, floor if held else None))
    return "\n".join(lines)


def verdict(results: list[Result]) -> str:
    """Whether the run with the window met its target, and by how much it missed."""
    floor = results[0].seconds
    waited = next(r for r in results[1:] if r.run.targeted)
    target = TARGET * (OUTAGE_SECONDS + floor)
    whole = waited.complete == waited.events and waited.partial == waited.dead_lettered == 0
    counts = (
        f"{waited.complete} of {waited.events} enriched or not_found, {waited.partial} partial,"
        f" {waited.dead_lettered} dead-lettered"
    )
    if whole and waited.seconds <= target:
        return (
            f"Target met: {counts}; the last out after {waited.seconds:.1f} s ≤ {target:.1f} s"
            f" ({waited.seconds / (OUTAGE_SECONDS + floor):.2f} x (20 s + the floor)). The records"
            " waiting for Minimo are woken as soon as it answers again, in whichever container"
            " sees it first, rather than each waiting out its backoff"
            " ([outage-waits.md](outage-waits.md#woken-when-the-api-answers-again))."
        )
    late = waited.seconds - target
    return (
        f"Target not met: {counts}, but the last out after {waited.seconds:.1f} s, {late:.1f} s"
        f" ({late / target:.0%}) past {TARGET} x (20 s + the floor) = {target:.1f} s. A record"
        " whose second try lands just before Minimo recovers waits its third wait (21-42 s with"
        " the defaults) before it is tried again: four hand-backs spanning a 900 s window grow"
        " 4 times each, so after an outage of D seconds the last records come out up to about"
        " 3 D later ([outage-waits.md](outage-waits.md))."
    )


def section(results: list[Result]) -> str:
    import os
    import platform
    from datetime import UTC, datetime

    return f"""{START}
## The outage: records wait out a failing API

`python -m bench.outage` on {datetime.now(UTC):%Y-%m-%d}: {os.cpu_count()} cores, Python
{platform.python_version()}; the machine was shared with other work while it ran. A fleet of
{CONTAINERS} containers (processes of their own, as in (k)) drains {results[0].events} intake
records (one address each, the APIs at 50 ms); Minimo answers 503 to everything for the first
{OUTAGE_SECONDS:.0f} s after the start signal (`PUT /__sandbox/outage`), then recovers. The
window and the receive count are the template's defaults (`LOOKUP_RETRY_WINDOW_SECONDS` 900,
`INTAKE_MAX_RECEIVE_COUNT` {INTAKE_MAX_RECEIVE_COUNT}), unscaled; the local intake queue's own
visibility timeout is {INTAKE_VISIBILITY_SECONDS} s (the template's: 120 s), which only a record
handed back without a wait of its own uses. "Last out" runs from the start signal to the last
event on the output queue; the floor is the first run's.

{table(results)}

{verdict(results)}
{END}"""


def main() -> int:
    from bench.run import stack_process

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=Path, help="keep each container's output in this folder")
    parser.add_argument("--write", type=Path, help="put the outage's section into this file")
    args = parser.parse_args()
    with stack_process() as env:
        fleet = OutageFleet(env, args.logs)
        results = []
        for outage_run in RUNS:
            results.append(fleet.run_outage(outage_run))
            print(results[-1].run.name, f"{results[-1].seconds:.1f} s", flush=True)
    print()
    print(table(results))
    if args.write:
        write_section(args.write, section(results), START, END)
        print(f"\nwritten to {args.write}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
