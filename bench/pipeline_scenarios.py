"""Scenarios (a)-(d): the pipeline itself, the sales API's limit and the handler's pacing off."""

from __future__ import annotations

import json
import math
import statistics
import time

from bench.bench_stack import BenchStack
from bench.report import Row, ms, yes
from local.stand_ins.lambda_events import http_api_event, sqs_event

MAX_CONCURRENCY = 16  # the function's default


def one_event(bench: BenchStack) -> Row:
    bench.configure(latency=0.2, cache_ttl=0)
    bench.invoke(http_api_event({"email": bench.emails(1)[0]}))  # warm: pools, connections
    handler = bench.measure(bench.runs, lambda: bench.invoke(bench.http_event()))
    baseline = bench.measure(
        bench.runs, lambda: bench.baseline.handle({"email": bench.emails(1)[0]})
    )
    ratio = handler / baseline
    return Row(
        "(a) one event, both APIs at 200 ms",
        ms(handler),
        ms(baseline),
        f"{ratio:.2f}x the baseline's time",
        "≤ 0.6x",
        yes(ratio <= 0.6),
    )


def batch(bench: BenchStack) -> Row:
    bench.configure(latency=0.05, cache_ttl=0)
    bench.invoke(sqs_event([{"email": e} for e in bench.emails(16)]))
    handler = bench.measure(
        bench.batch_runs,
        lambda: bench.checked_batch(sqs_event([{"email": e} for e in bench.emails(100)])),
    )
    baseline = bench.measure(
        max(1, bench.batch_runs // 2),
        lambda: [bench.baseline.handle({"email": e}) for e in bench.emails(100)],
    )
    speedup = baseline / handler
    return Row(
        "(b) SQS batch of 100 distinct emails, APIs at 50 ms",
        f"{ms(handler)} ({100 / handler:,.0f} events/s)",
        f"{ms(baseline)} ({100 / baseline:,.0f} events/s)",
        f"{speedup:.1f}x the baseline's throughput",
        "≥ 10x",
        yes(speedup >= 10),
    )


def batch_floor(bench: BenchStack) -> Row:
    """The same batch against its floor: 16 lookups in flight, 50 ms each, then the one
    SendMessageBatch that cannot start before the last lookup is answered."""
    bench.configure(latency=0.05, cache_ttl=0)
    bench.invoke(sqs_event([{"email": e} for e in bench.emails(16)]))
    handler = bench.measure(
        bench.batch_runs,
        lambda: bench.checked_batch(sqs_event([{"email": e} for e in bench.emails(100)])),
    )
    last_send = bench.measure(bench.runs * 3, _raw_send_message_batch)
    floor = math.ceil(100 / MAX_CONCURRENCY) * 0.05 + last_send
    ratio = handler / floor
    return Row(
        "(b2) the same batch against its floor",
        ms(handler),
        f"floor {ms(floor)}: ceil(100/16) x 50 ms + one SendMessageBatch ({ms(last_send)})",
        f"{ratio:.2f}x the floor",
        "≤ 1.2x",
        yes(ratio <= 1.2),
    )


def cached_batch(bench: BenchStack) -> Row:
    bench.configure(latency=0.05, cache_ttl=60)
    batch = [{"email": e} for e in bench.emails(100)]
    bench.checked_batch(sqs_event(batch))
    bench.minimo.clear_requests()
    bench.sales.clear_requests()
    handler = bench.measure(bench.batch_runs, lambda: bench.checked_batch(sqs_event(batch)))
    calls = bench.api_calls()
    return Row(
        "(c) the same batch again inside the TTL",
        f"{ms(handler)}, {calls} API calls",
        "200 API calls",
        f"{calls} API calls",
        "0 API calls",
        yes(calls == 0),
    )


def overhead(bench: BenchStack) -> Row:
    """What the handler itself costs: process CPU time per event in a batch, APIs at 0 ms."""
    bench.configure(latency=0.0, cache_ttl=0)
    bench.invoke(sqs_event([{"email": e} for e in bench.emails(16)]))
    cpu: list[float] = []
    batch = bench.measure(bench.batch_runs, lambda: _timed_cpu(cpu))
    single = bench.measure(bench.runs * 3, lambda: bench.invoke(bench.http_event()))
    baseline = bench.measure(bench.runs * 3, lambda: bench.baseline.handle(bench.submission()))
    sqs_batch = bench.measure(bench.runs * 3, _raw_send_message_batch)
    round_trip = bench.measure(bench.runs * 3, _raw_sandbox_request)
    cpu_per_event = statistics.median(cpu) / 100
    bench.notes.append(
        f"(d) A batch of 100 takes {ms(batch / 100, 2)} of wall time per event: the "
        f"handler's own {ms(cpu_per_event, 2)} of CPU, plus loopback HTTP to the sandboxes "
        f"(one round trip {ms(round_trip, 2)}) and to moto (one `SendMessageBatch` of ten "
        f"{ms(sqs_batch, 1)}), both served by the local stack's one process on the same two "
        "cores."
    )
    return Row(
        "(d) APIs at 0 ms: handler CPU per event (process CPU time ÷ events)",
        f"{ms(cpu_per_event, 2)} in a batch of 100 (wall {ms(batch / 100, 2)});"
        f" {ms(single, 2)} wall for one HTTP event",
        f"{ms(baseline, 2)} wall per event",
        f"{cpu_per_event * 1000:.2f} ms CPU per event",
        "≤ 2 ms",
        yes(cpu_per_event <= 0.002),
    )


def _timed_cpu(bench: BenchStack, cpu: list[float]) -> None:
    started = time.process_time()
    bench.checked_batch(sqs_event([{"email": e} for e in bench.emails(100)]))
    cpu.append(time.process_time() - started)


def _raw_send_message_batch(bench: BenchStack) -> None:
    body = json.dumps({"payload": "x" * 1200})
    entries = [{"Id": str(i), "MessageBody": body} for i in range(10)]
    bench.baseline.sqs.send_message_batch(QueueUrl=bench.env["OUTPUT_QUEUE_URL"], Entries=entries)


def _raw_sandbox_request(bench: BenchStack) -> None:
    bench.minimo.session.get(f"{bench.env['MINIMO_BASE_URL']}/contacts/by-email/x")
