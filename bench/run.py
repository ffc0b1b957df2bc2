"""`make bench`: the real handler against the sandbox APIs with injected latency, each scenario
also run through the naive sequential baseline (bench/baseline.py). Medians of repeated runs.

The local stack runs in its own process (as the APIs and SQS would), so that its work does not
compete with the handler for this interpreter's lock.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.baseline import SequentialBaseline
from local.invoker import FUNCTION_DIR, load_handler
from local.lambda_context import LambdaContextStub
from local.lambda_events import http_api_event, sqs_event
from local.sandbox_client import SandboxClient
from local.stack import FUNCTION_ID

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "make bench"


@dataclass
class Row:
    scenario: str
    handler: str
    baseline: str
    ratio: str
    target: str
    met: str


class Bench:
    def __init__(self, env: dict[str, str], quick: bool) -> None:
        self.env = env
        self.runs = 3 if quick else 7
        self.batch_runs = 2 if quick else 5
        self.minimo = SandboxClient(env["MINIMO_BASE_URL"].removesuffix("/public/v1"))
        self.sales = SandboxClient(env["SALES_API_BASE_URL"])
        self.baseline = SequentialBaseline(env)
        self.handler = load_handler()
        self.notes: list[str] = []
        self._serial = 0

    # --- helpers ---------------------------------------------------------------------------------
    def configure(self, latency: float, cache_ttl: int) -> None:
        os.environ["LOOKUP_CACHE_TTL_SECONDS"] = str(cache_ttl)
        for api in (self.minimo, self.sales):
            api.reset()
            api.set_latency(latency)

    def emails(self, count: int) -> list[str]:
        """Fresh addresses every time, so nothing is answered from a cache by accident."""
        self._serial += 1
        return [f"user{self._serial}-{i}@bench.example" for i in range(count)]

    def http_event(self) -> dict[str, Any]:
        return http_api_event(self.submission())

    def submission(self) -> dict[str, str]:
        return {"email": self.emails(1)[0]}

    def invoke(self, event: dict[str, Any]) -> Any:
        with _quiet():
            return self.handler(event, LambdaContextStub(timeout_seconds=30))

    def measure(self, runs: int, action: Callable[[], Any]) -> float:
        """Median seconds of `action`, each run starting from an empty output queue (moto slows
        down as a queue fills up, which real SQS does not)."""
        return _median(runs, action, before=self.purge)

    def purge(self) -> None:
        """Drains the output queue (PurgeQueue may run only once a minute)."""
        sqs, url = self.baseline.sqs, self.env["OUTPUT_QUEUE_URL"]
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def api_calls(self) -> int:
        return len(self.minimo.requests()) + len(self.sales.requests())

    # --- scenarios -------------------------------------------------------------------------------
    def one_event(self) -> Row:
        self.configure(latency=0.2, cache_ttl=0)
        self.invoke(http_api_event({"email": self.emails(1)[0]}))  # warm: pools, connections
        handler = self.measure(self.runs, lambda: self.invoke(self.http_event()))
        baseline = self.measure(
            self.runs, lambda: self.baseline.handle({"email": self.emails(1)[0]})
        )
        ratio = handler / baseline
        return Row(
            "(a) one event, both APIs at 200 ms",
            _ms(handler),
            _ms(baseline),
            f"{ratio:.2f}x the baseline's time",
            "≤ 0.6x",
            _yes(ratio <= 0.6),
        )

    def batch(self) -> Row:
        self.configure(latency=0.05, cache_ttl=0)
        self.invoke(sqs_event([{"email": e} for e in self.emails(16)]))
        handler = self.measure(
            self.batch_runs,
            lambda: self._checked_batch(sqs_event([{"email": e} for e in self.emails(100)])),
        )
        baseline = self.measure(
            max(1, self.batch_runs // 2),
            lambda: [self.baseline.handle({"email": e}) for e in self.emails(100)],
        )
        speedup = baseline / handler
        return Row(
            "(b) SQS batch of 100 distinct emails, APIs at 50 ms",
            f"{_ms(handler)} ({100 / handler:,.0f} events/s)",
            f"{_ms(baseline)} ({100 / baseline:,.0f} events/s)",
            f"{speedup:.1f}x the baseline's throughput",
            "≥ 10x",
            _yes(speedup >= 10),
        )

    def cached_batch(self) -> Row:
        self.configure(latency=0.05, cache_ttl=60)
        batch = [{"email": e} for e in self.emails(100)]
        self._checked_batch(sqs_event(batch))
        self.minimo.clear_requests()
        self.sales.clear_requests()
        handler = self.measure(self.batch_runs, lambda: self._checked_batch(sqs_event(batch)))
        calls = self.api_calls()
        return Row(
            "(c) the same batch again inside the TTL",
            f"{_ms(handler)}, {calls} API calls",
            "200 API calls",
            f"{calls} API calls",
            "0 API calls",
            _yes(calls == 0),
        )

    def overhead(self) -> Row:
        self.configure(latency=0.0, cache_ttl=0)
        self.invoke(sqs_event([{"email": e} for e in self.emails(16)]))
        cpu: list[float] = []
        batch = self.measure(self.batch_runs, lambda: self._timed_cpu(cpu))
        single = self.measure(self.runs * 3, lambda: self.invoke(self.http_event()))
        baseline = self.measure(self.runs * 3, lambda: self.baseline.handle(self.submission()))
        sqs_batch = self.measure(self.runs * 3, self._raw_send_message_batch)
        round_trip = self.measure(self.runs * 3, self._raw_sandbox_request)
        per_event = batch / 100
        self.notes.append(
            f"(d) Where a batch's {_ms(per_event, 2)} per event go: the handler process spends "
            f"{_ms(statistics.median(cpu) / 100, 2)} of CPU per event (mostly `requests` and "
            f"`http.client` for the two lookups); one `SendMessageBatch` of ten messages takes "
            f"{_ms(sqs_batch, 1)} in moto ({_ms(sqs_batch / 10, 2)} per event) and one sandbox "
            f"round trip {_ms(round_trip, 2)}, both in the local stack's single process."
        )
        if per_event > 0.003:
            over = per_event - 0.003
            self.notes.append(
                f"(d) misses its 3 ms target by {_ms(over, 2)} ({over / 0.003:.0%}). The handler's "
                "own CPU is most of it: each event costs two HTTP requests through `requests`, "
                "about 1 ms of Python each, and the local stack's servers share this machine's two "
                "cores with it. Caching (scenario c) removes the requests; what remains is the "
                "handler and SQS."
            )
        return Row(
            "(d) APIs at 0 ms: handler time per event",
            f"{_ms(per_event, 2)} in a batch of 100; {_ms(single, 2)} for one HTTP event",
            _ms(baseline, 2),
            f"{per_event / baseline:.2f}x (batch), {single / baseline:.2f}x (one event)",
            "<= 3 ms",
            _yes(per_event <= 0.003),
        )

    def _timed_cpu(self, cpu: list[float]) -> None:
        started = time.process_time()
        self._checked_batch(sqs_event([{"email": e} for e in self.emails(100)]))
        cpu.append(time.process_time() - started)

    def _raw_send_message_batch(self) -> None:
        body = json.dumps({"payload": "x" * 1200})
        entries = [{"Id": str(i), "MessageBody": body} for i in range(10)]
        self.baseline.sqs.send_message_batch(QueueUrl=self.env["OUTPUT_QUEUE_URL"], Entries=entries)

    def _raw_sandbox_request(self) -> None:
        self.minimo.requests_session.get(f"{self.env['MINIMO_BASE_URL']}/contacts/by-email/x")

    def cold_import(self) -> Row:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        app = _median(5, lambda: _imported_in(env, "import app"), timed=False)
        bare = _median(5, lambda: _imported_in(env, "import boto3, requests"), timed=False)
        return Row(
            "(e) cold import of the handler module",
            _ms(app),
            f"{_ms(bare)} (`import boto3, requests`)",
            f"+{_ms(app - bare)}",
            "stated",
            "stated",
        )

    def _checked_batch(self, event: dict[str, Any]) -> None:
        result = self.invoke(event)
        assert result == {"batchItemFailures": []}, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="also write the results to this Markdown file")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    args = parser.parse_args()
    with _stack_process() as env:
        os.environ.update(env)
        os.environ["LOG_LEVEL"] = "INFO"  # as deployed: one log line per event is part of the cost
        bench = Bench(env, quick=args.quick)
        scenarios: list[Callable[[], Row]] = [
            bench.one_event,
            bench.batch,
            bench.cached_batch,
            bench.overhead,
            bench.cold_import,
        ]
        rows = []
        for scenario in scenarios:
            rows.append(scenario())
            print(_table(rows[-1:], header=len(rows) == 1), flush=True)
    report = _report(rows, bench.notes, quick=args.quick)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(report)
        print(f"\nwritten to {args.write}")
    return 0


# --- measuring ------------------------------------------------------------------------------------
def _median(
    runs: int, action: Callable[[], Any], timed: bool = True, before: Callable[[], Any] = list
) -> float:
    samples = []
    for _ in range(runs):
        before()
        if timed:
            started = time.perf_counter()
            action()
            samples.append(time.perf_counter() - started)
        else:
            samples.append(action())
    return statistics.median(samples)


def _imported_in(env: dict[str, str], statement: str) -> float:
    """Seconds a fresh interpreter takes to run `statement`."""
    code = (
        f"import sys, time; sys.path.insert(0, {str(FUNCTION_DIR)!r}); "
        f"t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    )
    command = [sys.executable, "-c", code]
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return float(run.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The function's logs and metrics go to stdout, as in Lambda; here they go nowhere."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def _stack_process() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory() as folder:
        env_file = Path(folder) / "env.json"
        stack = subprocess.Popen(  # noqa: S603 - our own module
            [sys.executable, "-m", "local.stack", "--env-file", str(env_file)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not env_file.exists() or not env_file.read_text().strip():
                if stack.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the local stack did not start")
                time.sleep(0.1)
            time.sleep(0.1)  # the file is written in one go; let the write finish
            yield json.loads(env_file.read_text())[FUNCTION_ID]
        finally:
            stack.terminate()
            stack.wait(timeout=30)


# --- reporting ------------------------------------------------------------------------------------
def _ms(seconds: float, digits: int = 0) -> str:
    return f"{seconds * 1000:,.{digits}f} ms"


def _yes(met: bool) -> str:
    return "yes" if met else "no"


def _table(rows: list[Row], header: bool = True) -> str:
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


def _report(rows: list[Row], notes: list[str], quick: bool) -> str:
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
with latency injected into both sandbox APIs. Times are medians of repeated runs; every run uses
fresh email addresses so that only scenario (c) can hit the cache. The baseline
(`bench/baseline.py`) does the naive thing: one event at a time, Minimo, then the sales API, then
`SendMessage`, a new connection per request.

{_table(rows)}

Measured alongside:

{measured}

How to read it:

- (a) The two lookups overlap, so one event costs about one API latency instead of two.
- (b) A batch is deduplicated, looked up with `MAX_CONCURRENCY` (16) requests in flight per API,
  and sent with `SendMessageBatch` in chunks of 10; the baseline pays two latencies and one SQS
  round trip per event, in series.
- (c) Inside `LOOKUP_CACHE_TTL_SECONDS` a warm container answers from its cache: no API calls.
- (d) With the APIs answering at once, what is left is the handler's own work plus loopback HTTP
  to the sandboxes and to moto (whose SQS emulation is slower than SQS's own front end). A single
  HTTP event also pays a whole SQS call for one message; in a batch, that is shared by ten.
- (e) Most of the cold import is Powertools and boto3/botocore, which any function using them
  pays; the X-Ray SDK is loaded only when tracing is on (as deployed, where it adds ~18 ms).
"""


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []


if __name__ == "__main__":
    raise SystemExit(main())
