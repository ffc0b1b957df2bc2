"""Scenarios (f)-(i) and (k): against the sales API's real limit (20 requests per second), the
two webhook modes, and the fleet of containers sharing the limit."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from bench import fleet as fleet_scenario
from bench import fleet_report, webhook_modes
from bench.bench_stack import BenchStack
from bench.measuring import quiet
from bench.report import Row, burst_summary, ms, yes
from local.stand_ins.lambda_events import sqs_event

SALES_LIMIT_PER_SECOND = 20  # OpenMRP's limit, which the sales sandbox enforces


@dataclass
class Tally:
    """What a run against the rate limit came to."""

    seconds: float = 0.0
    forwarded: int = 0  # enriched, not found, no email: complete events
    partial: int = 0
    handed_back: int = 0  # SQS records returned to the queue to wait
    refused: int = 0  # 429s the sales API answered

    def describe(self, floor: float) -> str:
        return (
            f"{self.seconds:,.1f} s ({self.seconds / floor:.2f}x the floor), "
            f"{self.refused} x 429, {self.forwarded} complete, {self.partial} partial, "
            f"{self.handed_back} handed back"
        )


def rate_limited_batch(bench: BenchStack) -> Row:
    """100 records in one SQS batch against the sales API's real limit (20/s)."""
    return _against_the_limit("(f) SQS batch of 100 records", 100, per_batch=100)


def rate_limited_stream(bench: BenchStack) -> Row:
    """1,000 events in ten batches of 100, one after another, through one container."""
    return _against_the_limit("(g) 1,000 events in 10 SQS batches", 1000, per_batch=100)


def _against_the_limit(bench: BenchStack, scenario: str, events: int, per_batch: int) -> Row:
    floor = events / SALES_LIMIT_PER_SECOND
    paced = _batches_against_the_limit(events, per_batch, paced=True)
    unpaced = _batches_against_the_limit(events, per_batch, paced=False)
    baseline = _baseline_against_the_limit(min(events, 100))
    per_100 = paced.refused * 100 / events
    met = paced.partial == 0 and per_100 <= 5 and paced.seconds <= 1.3 * floor
    bench.notes.append(
        f"{scenario[:3]} The handler with pacing off (`SALES_API_MAX_RPS=0`, retrying into "
        f"the limit as before): {unpaced.describe(floor)}. The baseline"
        + (" (on the first 100 events)" if events > 100 else "")
        + f": {baseline.describe(min(events, 100) / SALES_LIMIT_PER_SECOND)}."
    )
    return Row(
        f"{scenario}, APIs at 50 ms, against the 20/s limit",
        paced.describe(floor),
        baseline.describe(min(events, 100) / SALES_LIMIT_PER_SECOND),
        f"{paced.seconds / floor:.2f}x the floor ({floor:.0f} s = {events} requests ÷ 20/s)",
        "0 partial, ≤ 5 x 429 per 100 records, ≤ 1.3x the floor",
        yes(met),
    )


def _batches_against_the_limit(
    bench: BenchStack, events: int, per_batch: int, *, paced: bool
) -> Tally:
    bench.configure(latency=0.05, cache_ttl=0, rate_limited=True)
    if not paced:
        os.environ["SALES_API_MAX_RPS"] = "0"
    tally = Tally()
    started = time.perf_counter()
    for _ in range(events // per_batch):
        result = bench.invoke(sqs_event([{"email": e} for e in bench.emails(per_batch)]))
        tally.handed_back += len(result["batchItemFailures"])
    tally.seconds = time.perf_counter() - started
    _count_messages(tally)
    tally.refused = bench.sales.rate_limit()["refused"]
    return tally


def _baseline_against_the_limit(bench: BenchStack, events: int) -> Tally:
    bench.configure(latency=0.05, cache_ttl=0, rate_limited=True)
    tally = Tally()
    started = time.perf_counter()
    for email in bench.emails(events):
        tally.partial += bench.baseline.handle({"email": email}).failed
    tally.seconds = time.perf_counter() - started
    tally.forwarded = events - tally.partial
    tally.refused = bench.sales.rate_limit()["refused"]
    bench.purge()
    return tally


def _count_messages(bench: BenchStack, tally: Tally) -> None:
    sqs, url = bench.baseline.sqs, bench.env["OUTPUT_QUEUE_URL"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            status = json.loads(message["Body"])["enrichment"]["status"]
            tally.partial += status == "partial"
            tally.forwarded += status != "partial"
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)


def answer_time(bench: BenchStack) -> Row:
    """How long a sender waits for its answer, both APIs at 500 ms."""
    bench.configure(latency=0.5, cache_ttl=0)
    with quiet():
        bench.invoke(bench.http_event())  # warm: pools, connections
        direct = webhook_modes.answer_times(bench.handler, bench.emails(bench.runs))
        os.environ["INTAKE_QUEUE_URL"] = bench.intake_queue_url
        try:
            bench.invoke(bench.http_event())
            queued = webhook_modes.answer_times(bench.handler, bench.emails(bench.runs * 3))
        finally:
            del os.environ["INTAKE_QUEUE_URL"]
    bench.purge_queue(bench.intake_queue_url)
    bench.purge()
    ratio = queued / direct
    return Row(
        "(h) HTTP answer time (p50), both APIs at 500 ms",
        f"queued: {ms(queued, 1)} (202 `queued`)",
        f"direct: {ms(direct)} (202 after both lookups)",
        f"{ratio:.3f}x direct",
        "queued ≤ 0.1x direct",
        yes(ratio <= 0.1),
    )


def burst(bench: BenchStack) -> Row:
    """500 webhooks in 5 s against the sales API's 20/s, queued and direct."""
    count, seconds = 500, 5.0
    floor = count / SALES_LIMIT_PER_SECOND
    runs = {}
    for mode in ("queued", "direct"):
        bench.configure(latency=0.05, cache_ttl=0, rate_limited=True)
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        if mode == "queued":
            os.environ["INTAKE_QUEUE_URL"] = bench.intake_queue_url
        try:
            with quiet():
                runs[mode] = webhook_modes.burst(
                    bench.handler,
                    bench.baseline.sqs,
                    bench.env["OUTPUT_QUEUE_URL"],
                    bench.emails(count),
                    seconds=seconds,
                    senders=8 if mode == "queued" else 100,
                    intake_queue_url=bench.intake_queue_url if mode == "queued" else None,
                )
        finally:
            os.environ.pop("INTAKE_QUEUE_URL", None)
            os.environ.pop("POWERTOOLS_METRICS_DISABLED", None)
        runs[mode].refused = bench.sales.rate_limit()["refused"]
    queued, direct = runs["queued"], runs["direct"]
    met = (
        queued.lost == queued.duplicates == queued.partial == 0
        and queued.last_enriched_after <= 1.3 * floor
    )
    return Row(
        f"(i) a burst of {count} webhooks in {seconds:.0f} s, APIs at 50 ms, against the "
        "20/s limit",
        f"queued: {burst_summary(queued, floor)}",
        f"direct: {burst_summary(direct, floor)}",
        f"last event out at {queued.last_enriched_after / floor:.2f}x the floor "
        f"({floor:.0f} s = {count} ÷ 20/s)",
        "queued: 0 lost, 0 duplicated, 0 partial, ≤ 1.3x the floor",
        yes(met),
    )


def fleet(bench: BenchStack) -> Row:
    """Several containers as processes of their own, sharing the limit (bench/fleet.py)."""
    runner = fleet_scenario.Fleet(bench.env)
    bench.fleet_results = [runner.run(run) for run in fleet_scenario.RUNS]
    return Row(*fleet_report.summary(bench.fleet_results))
