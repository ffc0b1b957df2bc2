"""`make bench`: the real handler against the sandbox APIs with injected latency, each scenario
also run through the naive sequential baseline (bench/baseline.py). Medians of repeated runs.

The local stack runs in its own process (as the APIs and SQS would), so that its work does not
compete with the handler for this interpreter's lock. The scenarios live by what they measure:
the pipeline (pipeline_scenarios.py), a container's cold path and cost (container_scenarios.py),
the rate limit, the webhook modes and the fleet (limit_scenarios.py); the state they share in
bench_stack.py, how they measure in measuring.py, the page they write in report.py.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

from bench import container_scenarios as containers
from bench import fleet_report
from bench import limit_scenarios as limits
from bench import pipeline_scenarios as pipeline
from bench.bench_stack import BenchStack
from bench.measuring import stack_process
from bench.report import Row, kept_sections, page, table

# The scenarios in the order they run, by the letter `--only` takes.
SCENARIOS: list[Callable[[BenchStack], Row]] = [
    pipeline.one_event,
    pipeline.batch,
    pipeline.batch_floor,
    pipeline.cached_batch,
    pipeline.overhead,
    containers.cold_path,
    limits.rate_limited_batch,
    limits.rate_limited_stream,
    limits.answer_time,
    limits.burst,
    containers.cost,
    limits.fleet,
]
SCENARIO_LETTERS = ["a", "b", "b2", "c", "d", "e", "f", "g", "h", "i", "j", "k"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="also write the results to this Markdown file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument(
        "--only", help="run only these scenarios, by letter (e.g. f,g); the report is partial"
    )
    args = parser.parse_args()
    started = time.monotonic()
    with stack_process() as env:
        os.environ.update(env)
        os.environ["LOG_LEVEL"] = "INFO"  # as deployed: one log line per event is part of the cost
        bench = BenchStack(env, quick=args.quick)
        scenarios = SCENARIOS
        if args.only:
            letters = {letter.strip() for letter in args.only.split(",")}
            scenarios = [s for s in scenarios if SCENARIO_LETTERS[scenarios.index(s)] in letters]
        rows = []
        for scenario in scenarios:
            rows.append(scenario(bench))
            print(table(rows[-1:], header=len(rows) == 1), flush=True)
    cost_table = bench.cost_table
    if cost_table and bench.fleet_results:
        cost_table += fleet_report.cost_note(bench.fleet_results)
    minutes = (time.monotonic() - started) / 60
    report = page(rows, bench.notes, quick=args.quick, cost_table=cost_table, minutes=minutes)
    if bench.fleet_results:
        report += "\n" + fleet_report.section(bench.fleet_results)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report + kept_sections(args.write))
        print(f"\nwritten to {args.write}")
    print(f"make bench took {minutes:.0f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
