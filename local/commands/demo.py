"""`make demo`: the real handler on every file in events/, against the local stack.

For each sample it prints the handler's answer and what arrived on the output queue, then a
one-line summary. Nothing here needs an AWS account, Docker or the internet. Exits 1 when a
sample raised unexpectedly (a refused direct or EventBridge event raising is its documented
answer), 2 when a file given is missing or not JSON.

Signature checks are on, as deployed: each HTTP sample is signed just before it is sent, the way
its own tool signs it (local/stand_ins/signed_events.py: HubSpot v3, Webflow, Formstack, a Wufoo
handshake key, a Jotform URL token, ...), each tool with a secret of its own made for this run; any
other sender with Standard Webhooks and the shared secret.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections import Counter
from typing import Any

from local.commands import event_files
from local.commands.invoker import error_name, invoke, load_handler
from local.stand_ins import signed_events
from local.stand_ins.stack import LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.commands.demo", description=__doc__)
    parser.add_argument("--verbose", action="store_true", help="show the function's logs")
    parser.add_argument("events", nargs="*", help="event files (default: events/*)")
    args = parser.parse_args(argv)
    try:
        samples = [event_files.load(name) for name in args.events] or [
            event_files.load(str(path)) for path in event_files.samples()
        ]
    except event_files.EventFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    quiet = {"LOG_LEVEL": "INFO" if args.verbose else "CRITICAL"}
    if not args.verbose:
        quiet["POWERTOOLS_METRICS_DISABLED"] = "true"
    provider_secrets = {provider: secrets.token_urlsafe(24) for provider in signed_events.TOOLS}
    with (
        LocalStack() as stack,
        stack.apply_env(
            **quiet,
            ALLOW_UNSIGNED_WEBHOOKS="false",
            PACING_TABLE=stack.pacing_table_name,
            WEBHOOK_SECRET=stack.webhook_secret,
            WEBHOOK_SECRETS=json.dumps(provider_secrets),
        ),
    ):
        print(f"moto {stack.moto_url} · Minimo {stack.minimo.url} · sales API {stack.sales.url}")
        handler = load_handler()
        statuses: Counter[str] = Counter()
        answers: Counter[str] = Counter()
        raised: dict[str, list[str]] = {}  # the error → the samples that raised it
        for path, event in samples:
            if is_http(event):
                sign_http_event(event, stack.webhook_secret, provider_secrets)
            invocation = invoke(handler, event)
            if invocation.error is not None and not invocation.refused:
                raised.setdefault(error_name(invocation.error), []).append(path.name)
            answer = describe_answer(invocation)
            answers[answer.split()[0] if answer[0].isdigit() else answer.split(":")[0]] += 1
            print(f"\n{path.name}\n  answer  {answer}")
            for message in stack.receive_all():
                body = message["body"]
                enrichment = body["enrichment"]
                statuses[enrichment["status"]] += 1
                print(
                    f"  queued  {body['email'] or '-'}  {enrichment['status']}"
                    f"  contact_id={enrichment['contact_id']}"
                    f"  relationship={enrichment['relationship']}"
                    f"  (found at {enrichment['email_path'] or '-'})"
                )
        total = sum(statuses.values())
        by_status = ", ".join(f"{n} {s}" for s, n in statuses.most_common())
        by_answer = ", ".join(f"{a}: {n}" for a, n in sorted(answers.items()))
        by_status = f" ({by_status})" if by_status else ""
        print(f"\n{len(samples)} events → {total} messages on the queue{by_status}")
        print(f"answers: {by_answer}", flush=True)
        if raised:
            count = sum(len(names) for names in raised.values())
            lines = [f"  {error}: {', '.join(names)}" for error, names in raised.items()]
            print(f"{count} of {len(samples)} samples raised unexpectedly:", file=sys.stderr)
            print("\n".join(lines), file=sys.stderr)
    return 1 if raised else 0


def is_http(event: Any) -> bool:
    return isinstance(event, dict) and (
        "httpMethod" in event or "http" in event.get("requestContext", {})
    )


def sign_http_event(event: dict[str, Any], shared: str, own: dict[str, str]) -> None:
    """Adds what its tool adds: a tool with its own secret proves itself its own way, any other
    sender signs with Standard Webhooks (reusing the event's delivery id as webhook-id)."""
    provider = signed_events.provider_of(event)
    if provider in own:
        scheme, bearer = signed_events.tool_scheme(provider)
        signed_events.sign_event(event, scheme, own[provider], bearer=bearer)
    else:
        signed_events.sign_event(event, signed_events.STANDARD, shared)


def describe_answer(invocation: Any) -> str:
    if invocation.error is not None:
        error = invocation.error
        return f"raised {type(error).__name__}: {error}"
    result = invocation.result
    if isinstance(result, dict) and "statusCode" in result:
        return f"{result['statusCode']} {result['body']}"
    if isinstance(result, dict) and "batchItemFailures" in result:
        failed = [f["itemIdentifier"] for f in result["batchItemFailures"]]
        return (
            f"batch: {len(failed)} failed record(s) {failed}" if failed else "batch: all forwarded"
        )
    return f"returned: {json.dumps(result)}"


if __name__ == "__main__":
    raise SystemExit(main())
