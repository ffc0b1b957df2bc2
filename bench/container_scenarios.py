"""Scenarios (e) and (j): what a container costs, measured in fresh processes: the cold path
(import and the first webhook) and the cost per million events."""

from __future__ import annotations

import statistics

from bench import cost as cost_model
from bench.bench_stack import BenchStack
from bench.measuring import (
    cold_path_in_a_fresh_process,
    footprint_in_a_fresh_process,
    task_root_as_built,
)
from bench.report import Row, ms, yes

TEMPLATE_MEMORY_MB = 512  # template.yaml's MemorySize


def cold_path(bench: BenchStack) -> Row:
    """A fresh process: import, then the first webhook, tracing on as in Lambda; against the
    naive cold path (import boto3 and requests, an SQS client, two lookups in turn, one
    SendMessage). At APIs 0 ms it is all the code's own; at 50 ms the lookups count too. The
    function's folder is as `make build` ships it, bytecode included, and nothing compiled is
    written down, as in Lambda's read-only /var/task. The kinds run in turns and each ratio is
    the median of the turns' own: a shared machine's speed drifts by a third between runs, and
    the processes of one turn see the same machine."""
    runs = max(21, bench.runs)
    results: dict[tuple[float, str], list[float]] = {}
    with task_root_as_built() as built, task_root_as_built(with_bytecode=False) as bare:
        for latency in (0.0, 0.05):
            bench.configure(latency=latency, cache_ttl=0)
            kinds = {"handler": built, "naive": built}
            if latency == 0.0:  # what the notes explain the 0 ms figure with
                kinds |= {"libraries": built, "handler without bytecode": bare}
            for _ in range(runs):
                for kind, task in kinds.items():
                    seconds = cold_path_in_a_fresh_process(kind.split()[0], task)["seconds"]
                    results.setdefault((latency, kind), []).append(seconds)
    bench.purge()
    h0, n0 = results[0.0, "handler"], results[0.0, "naive"]
    h50, n50 = results[0.05, "handler"], results[0.05, "naive"]
    libraries, bare_runs = results[0.0, "libraries"], results[0.0, "handler without bytecode"]
    m0, m50, floor = _paired(h0, n0), _paired(h50, n50), _paired(libraries, n0)
    bench.notes.append(
        f"(e) {runs} turns at each latency. Runs at APIs 0 ms, min / median / max: the handler "
        f"{_spread(h0)}, the naive path {_spread(n0)}; at 50 ms: {_spread(h50)} and "
        f"{_spread(n50)}. At 0 ms, the naive path inside what DESIGN.md requires of any handler "
        "(email-validator on the address; Powertools' Logger, Metrics and Tracer, X-Ray "
        f"patching botocore: `python -m bench.cold_path libraries`) takes {_spread(libraries)}, "
        f"{floor:.2f}x the naive path; the handler is {_paired(h0, libraries):.2f}x that. The "
        "function's folder is as `make build` ships it (docs/cold-start.md); without its "
        f"bytecode, as `sam build` alone leaves it, the handler takes {_spread(bare_runs)}. "
        "What is loaded only when used: docs/cold-start.md."
    )
    return Row(
        "(e) cold path: fresh process, import + first webhook, tracing on",
        f"{ms(statistics.median(h50))} at APIs 50 ms; {ms(statistics.median(h0))} at 0 ms",
        f"{ms(statistics.median(n50))} at 50 ms; {ms(statistics.median(n0))} at 0 ms",
        f"{m50:.2f}x at 50 ms; {m0:.2f}x at 0 ms, where the required libraries alone take "
        f"{floor:.2f}x",
        "≤ 1.2x",
        f"{yes(m50 <= 1.2)} at 50 ms; {yes(m0 <= 1.2)} at 0 ms",
    )


def _paired(seconds: list[float], baseline: list[float]) -> float:
    """The median of each turn's ratio."""
    return statistics.median(mine / theirs for mine, theirs in zip(seconds, baseline, strict=True))


def _spread(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    return f"{ms(ordered[0])} / {ms(statistics.median(ordered))} / {ms(ordered[-1])}"


def cost(bench: BenchStack) -> Row:
    """GB-seconds and dollars per million events, from footprints measured in fresh
    processes with the APIs at 50 ms (bench/footprint.py, bench/cost.py)."""
    bench.configure(latency=0.05, cache_ttl=0)
    kinds = {"http": (1, 20), "sqs10": (10, 10), "sqs100": (100, 4)}
    measured: dict[tuple[str, str], cost_model.Measured] = {}
    for who in ("handler", "baseline"):
        for kind, (events, runs) in kinds.items():
            found = footprint_in_a_fresh_process(who, kind, runs)
            measured[who, kind] = cost_model.Measured(
                events, found["wall_seconds"], found["cpu_seconds"], found["peak_mib"]
            )
            bench.purge()
    template_mb = TEMPLATE_MEMORY_MB
    smallest = cost_model.smallest_memory_keeping_timings(
        [m for (who, _), m in measured.items() if who == "handler"]
    )
    with task_root_as_built() as built:
        cold = [cold_path_in_a_fresh_process("handler", built) for _ in range(3)]
    cold_path = cost_model.ColdPath(
        statistics.median(c["seconds"] for c in cold),
        statistics.median(c["cpu_seconds"] for c in cold),
    )
    bench.purge()
    bench.cost_table = (
        _cost_table(measured, template_mb, smallest)
        + "\n\n"
        + _memory_table(measured, cold_path, sorted({256, template_mb, 1024, smallest}))
    )
    handler_100 = cost_model.per_million_events(measured["handler", "sqs100"], template_mb)
    baseline_100 = cost_model.per_million_events(measured["baseline", "sqs100"], template_mb)
    return Row(
        "(j) cost per million events (Lambda arm64), the table below",
        f"${handler_100.dollars:,.2f} in SQS batches of 100 at {template_mb} MB",
        f"${baseline_100.dollars:,.2f}",
        f"{handler_100.dollars / baseline_100.dollars:.2f}x; smallest size keeping the"
        f" timings: {smallest} MB",
        "stated",
        "stated",
    )


def _cost_table(
    measured: dict[tuple[str, str], cost_model.Measured], template_mb: int, smallest_mb: int
) -> str:
    names = {
        "http": "HTTP, one event per invocation",
        "sqs10": "SQS batches of 10",
        "sqs100": "SQS batches of 100",
    }
    lines = [
        "| workload | who | per invocation (full core): wall / CPU / peak memory | memory |"
        " requests per 1M events | GB-s per 1M events | $ per 1M events |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, name in names.items():
        for who in ("handler", "baseline"):
            m = measured[who, kind]
            for memory in dict.fromkeys((template_mb, smallest_mb)):
                c = cost_model.per_million_events(m, memory)
                lines.append(
                    f"| {name} | {who} | {ms(m.wall_seconds)} / {ms(m.cpu_seconds)} /"
                    f" {m.peak_mib:.0f} MiB | {memory} MB | {c.requests:,} |"
                    f" {c.gb_seconds:,.0f} | ${c.dollars:,.2f} |"
                )
    return "\n".join(lines)


def _memory_table(
    measured: dict[tuple[str, str], cost_model.Measured],
    cold_path: cost_model.ColdPath,
    sizes: list[int],
) -> str:
    """The handler at a few memory sizes: what a webhook waits, and what a million cost."""
    http, batch = measured["handler", "http"], measured["handler", "sqs100"]
    lines = [
        "| memory | one webhook, warm | first webhook of a container (cold) | batch of 100 |"
        " $ per 1M events, HTTP | $ per 1M events, SQS batches of 100 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for memory in sizes:
        lines.append(
            f"| {memory} MB | {ms(http.duration(memory))} | {ms(cold_path.duration(memory))} |"
            f" {ms(batch.duration(memory))} |"
            f" ${cost_model.per_million_events(http, memory).dollars:,.2f} |"
            f" ${cost_model.per_million_events(batch, memory).dollars:,.2f} |"
        )
    return "\n".join(lines)
