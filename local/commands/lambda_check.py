"""`make lambda-check`: the `sam build` output, run by AWS's own runtime interface client.

What a deployment would run, as Lambda lays it out, on every file in events/:

- the built function (.aws-sam/build/<CodeUri>) as the task root and the built layer's
  `python/` as /opt/python, copied into a scratch folder and made read-only, as in Lambda;
- `python -S -m awslambdaric <Handler>` (the client pinned in requirements-lambda-check.txt),
  with nothing on the path but the task root, the layer and the client: no virtualenv, no
  source tree, so a module the build left out fails here as it would after deploying;
- Lambda's variables (AWS_LAMBDA_LOG_FORMAT=JSON, AWS_LAMBDA_LOG_LEVEL, _HANDLER, ...), the
  template's own with their parameter defaults, and the template's timeout as each deadline;
- a minimal Runtime API (local/stand_ins/runtime_api.py) in front, the local stack behind.

Each event is signed as `make demo` signs it, run there, then run again in this process as
`make invoke` runs it (local/commands/invoker.py, the source tree); the answers and the queued
messages must match, time fields aside. Every log line the runtime prints must be JSON and hold no
API key, secret or sample address; every module must ship its bytecode (local/commands/bytecode.py).
Exits 1 on any difference, 2 when there is no build. The build machine is x86_64 and the layer is
built for arm64: its compiled modules (charset_normalizer's, wrapt's) cannot load here, so those
packages run their pure-Python fallbacks. What this checks is the packaging and the handler path,
not the arm64 binaries.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from local.commands import bytecode, event_files
from local.commands.demo import is_http, sign_http_event
from local.commands.invoker import Invocation, invoke, load_handler
from local.stand_ins import signed_events
from local.stand_ins.function_template import FUNCTION_ID, ROOT, FunctionFacts, function_facts
from local.stand_ins.lambda_context import LambdaContextStub
from local.stand_ins.runtime_api import Outcome, RuntimeApi
from local.stand_ins.stack import LocalStack

RUNTIME_DIR = ROOT / ".venv-lambda-check" / "runtime"
# Fields that say when, not what: they differ between any two runs.
TIME_FIELDS = ("received_at", "enriched_at", "duration_ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.commands.lambda_check", description=__doc__
    )
    parser.add_argument("events", nargs="*", help="event files (default: events/*)")
    parser.add_argument("--build-dir", type=Path, default=bytecode.BUILD_DIR)
    args = parser.parse_args(argv)
    if not (args.build_dir / "template.yaml").is_file():
        print(f"error: no build in {args.build_dir}: run `make build` first", file=sys.stderr)
        return 2
    samples = [event_files.load(name) for name in args.events] or [
        event_files.load(str(path)) for path in event_files.samples()
    ]
    facts = function_facts(args.build_dir / "template.yaml")
    provider_secrets = {provider: secrets.token_urlsafe(24) for provider in signed_events.TOOLS}
    differences = 0
    with ExitStack() as running:
        stack = running.enter_context(LocalStack())
        scratch = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="lambda-check-")))
        function_env = _function_env(stack, facts, provider_secrets)
        env = stack.env(**function_env)
        # This process's run is the reference: it stays quiet, the runtime's lines are checked.
        quiet = {"LOG_LEVEL": "CRITICAL", "POWERTOOLS_METRICS_DISABLED": "true"}
        running.enter_context(stack.apply_env(**{**function_env, **quiet}))
        task_root, layer = lambda_layout(args.build_dir, facts, scratch)
        build_problems = bytecode.problems([task_root, layer], facts.runtime)
        api = RuntimeApi(LambdaContextStub().invoked_function_arn, facts.timeout_seconds).start()
        running.callback(api.stop)
        handler = load_handler()
        logs = running.enter_context(run_runtime(task_root, layer, facts, env, api.address))
        print(f"{args.build_dir} under awslambdaric, {facts.handler}, {_layout(facts)}")
        for path, event in samples:
            if is_http(event):
                sign_http_event(event, stack.webhook_secret, provider_secrets)
            stack.reset()
            built = (api.invoke(event), _received(stack))
            stack.reset()
            source = (invoke(handler, event, facts.timeout_seconds), _received(stack))
            problems = compare(built, source)
            differences += bool(problems)
            print(f"{'✗' if problems else '✓'} {path.name}: {_describe(built[0])}")
            for problem in problems:
                print(f"    {problem}")
            if built[0].kind in ("init_error", "timeout"):
                break
        log_problems = check_logs(logs, stack, provider_secrets, samples)
    for problem in build_problems:
        print(f"✗ build: {problem}")
    for problem in log_problems:
        print(f"✗ logs: {problem}")
    print(
        f"{len(samples)} events, {len(logs)} log lines: "
        + ("the build answers as the source does" if not differences else f"{differences} differ")
    )
    return 1 if differences or log_problems or build_problems else 0


def _function_env(
    stack: LocalStack, facts: FunctionFacts, provider_secrets: dict[str, str]
) -> dict[str, str]:
    """The template's variables at their defaults, pointed at the local stack, with the keys
    read from Secrets Manager and signatures checked, as deployed."""
    template = {name: value for name, value in facts.variables.items() if value is not None}
    local = stack.env()
    return {
        **template,
        **{name: local[name] for name in ("MINIMO_BASE_URL", "SALES_API_BASE_URL")},
        "OUTPUT_QUEUE_URL": stack.queue_url,
        "IDEMPOTENCY_TABLE": stack.table_name,
        "API_KEYS_SECRET_ARN": stack.secret_arn,
        "WEBHOOK_SECRETS": json.dumps(provider_secrets),
        "LOG_LEVEL": None,  # type: ignore[dict-item] - Lambda's AWS_LAMBDA_LOG_LEVEL decides
        "MINIMO_API_KEY": None,  # type: ignore[dict-item] - removed: the secret holds the keys
        "SALES_API_KEY": None,  # type: ignore[dict-item]
    }


def lambda_layout(build_dir: Path, facts: FunctionFacts, scratch: Path) -> tuple[Path, Path]:
    """/var/task and /opt, read-only, as Lambda unpacks the function and its layer."""
    task_root, opt = scratch / "var" / "task", scratch / "opt"
    shutil.copytree(build_dir / facts.code_uri, task_root)
    for uri in facts.layer_uris:
        shutil.copytree(build_dir / uri, opt, dirs_exist_ok=True)
    for folder in (task_root, opt):
        _read_only(folder)
    return task_root, opt


def _read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


@contextmanager
def run_runtime(
    task_root: Path, opt: Path, facts: FunctionFacts, env: dict[str, str], api_address: str
) -> Iterator[list[str]]:
    """The runtime interface client in its own process; yields the lines it prints."""
    if not (RUNTIME_DIR / "awslambdaric").is_dir():
        raise SystemExit(f"error: no awslambdaric in {RUNTIME_DIR}: run make lambda-check")
    site = opt / "python" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    path = [task_root, site / "site-packages", opt / "python", RUNTIME_DIR]
    lambda_env = {
        **{k: v for k, v in env.items() if not k.startswith("POWERTOOLS_TRACE")},
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(map(str, path)),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
        "_HANDLER": facts.handler,
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{facts.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": LambdaContextStub.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(facts.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": LambdaContextStub.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": LambdaContextStub.log_stream_name,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, our own arguments
        [sys.executable, "-S", "-m", "awslambdaric", facts.handler],
        cwd=task_root,
        env=lambda_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=_collect, args=(process, lines), daemon=True)
    reader.start()
    try:
        yield lines
    finally:
        process.kill()
        process.wait()
        reader.join(timeout=5)


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip():
            lines.append(line.rstrip("\n"))


def _received(stack: LocalStack) -> list[dict[str, Any]]:
    return sorted(stack.receive_all(), key=lambda m: m["body"]["event_id"])


def compare(
    built: tuple[Outcome, list[dict[str, Any]]], source: tuple[Invocation, list[dict[str, Any]]]
) -> list[str]:
    """How the build's answer and messages differ from the source tree's, time fields aside."""
    problems = []
    outcome, invocation = built[0], source[0]
    if outcome.kind in ("init_error", "timeout"):
        return [f"{outcome.kind}: {json.dumps(outcome.body)[:500]}"]
    if invocation.error is not None:
        expected = {"kind": "error", "type": type(invocation.error).__name__}
        expected["message"] = str(invocation.error)
    else:
        expected = {"kind": "response", "answer": _answer(invocation.result)}
    if outcome.kind == "error":
        got = {"kind": "error", "type": outcome.error_type}
        got["message"] = (outcome.body or {}).get("errorMessage")
    else:
        got = {"kind": "response", "answer": _answer(outcome.body)}
    if got != expected:
        problems.append(f"answer {json.dumps(got)[:300]} ≠ make invoke's {json.dumps(expected)}")
    ours, theirs = [_comparable(m) for m in built[1]], [_comparable(m) for m in source[1]]
    if ours != theirs:
        problems.append(f"queued {len(ours)} message(s) unlike make invoke's {len(theirs)}")
    return problems


def _answer(result: Any) -> Any:
    """An HTTP answer with its body parsed; anything else as returned."""
    if isinstance(result, dict) and isinstance(result.get("body"), str):
        try:
            return {**result, "body": json.loads(result["body"])}
        except ValueError:
            return result
    return result


def _comparable(message: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(message["body"]))
    for field in TIME_FIELDS:
        body.pop(field, None)
        body.get("enrichment", {}).pop(field, None)
    return {"body": body, "attributes": message["attributes"]}


def check_logs(
    lines: list[str],
    stack: LocalStack,
    provider_secrets: dict[str, str],
    samples: list[tuple[Path, Any]],
) -> list[str]:
    """Lambda's JSON log format: one JSON object per line, none holding a key or an address."""
    problems = []
    secret = [stack.minimo_api_key, stack.sales_api_key, stack.webhook_secret]
    secret += list(provider_secrets.values())
    addresses = {a for _, event in samples for a in _addresses(json.dumps(event))}
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            problems.append(f"not JSON: {line[:120]}")
        if any(value in line for value in secret):
            problems.append("a line holds an API key or a webhook secret")
        leaked = sorted(a for a in addresses if a in line.lower())
        if leaked:
            problems.append(f"a line holds {len(leaked)} address(es) from the samples, unmasked")
    return list(dict.fromkeys(problems))


def _addresses(text: str) -> set[str]:
    import re

    return {m.lower() for m in re.findall(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", text)}


def _describe(outcome: Outcome) -> str:
    if outcome.kind == "response" and isinstance(outcome.body, dict):
        if "statusCode" in outcome.body:
            return f"{outcome.body['statusCode']} {outcome.body.get('body', '')}"
        return json.dumps(outcome.body)
    if outcome.kind in ("init_error", "timeout"):
        return outcome.kind.replace("_", " ")  # compare() gives the details
    return f"{outcome.kind} {json.dumps(outcome.body)[:200]}"


def _layout(facts: FunctionFacts) -> str:
    return f"timeout {facts.timeout_seconds:g} s, {facts.memory_mb} MB, {FUNCTION_ID}"


if __name__ == "__main__":
    raise SystemExit(main())
