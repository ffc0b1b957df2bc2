"""The Powertools Tracer: X-Ray when tracing is on, nothing loaded when it is off; and the trace
carried into the worker threads that run lookups and idempotency calls.

Off (POWERTOOLS_TRACE_DISABLED=true, or outside Lambda as in the tests and `make serve`), a
disabled Tracer still builds its X-Ray provider, importing the X-Ray SDK (150-230 ms of a cold
start) to record nothing; so it gets a provider of its own that records nothing instead.

On, the SDK patches botocore only (SQS, DynamoDB, Secrets Manager calls). Its `requests` and
`httplib` patches would record each request's URL, and Minimo's URL holds the address; each
lookup is recorded as a `## minimo lookup` / `## sales lookup` subsegment of ours instead,
annotated with its outcome and nothing it sent or found.

The X-Ray SDK keeps the current segment per thread: work handed to a pool starts with none, and
in Lambda its subsegments land beside the handler's instead of under it (Powertools issue #2047).
`in_this_trace` hands the caller's entity to the worker, as the SDK's README shows for
ThreadPoolExecutor (set_trace_entity, then clear_trace_entities; the SDK's Lambda context keeps
it since aws-xray-sdk-python #409). A subsegment is sent once all its children have ended: a
lookup still running when the invocation ends (past its deadline and the collection grace)
holds back the handler's subsegment until it ends, and if the container is frozen meanwhile,
that invocation's trace is lost. Lookups are bounded by the same deadline, so this is rare.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any, ParamSpec, TypeVar

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

P = ParamSpec("P")
R = TypeVar("R")

# What the X-Ray SDK instruments: the AWS calls. Not requests/httplib (see above).
PATCHED_MODULES = ("botocore",)


class _Unrecorded(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class _NoTracing(BaseProvider):
    """A Powertools tracing provider that records nothing and imports nothing."""

    _segment = _Unrecorded()

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield self._segment

    @asynccontextmanager
    async def in_subsegment_async(
        self, name: str | None = None, **kwargs: Any
    ) -> AsyncIterator[BaseSegment]:
        yield self._segment

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Any) -> None:
        pass

    def patch_all(self) -> None:
        pass


def _tracer() -> Tracer:
    # Powertools' own rule for "off", so that this never disagrees with what its Tracer would do.
    if Tracer._is_tracer_disabled():
        return Tracer(disabled=True, auto_patch=False, provider=_NoTracing())
    return Tracer(patch_modules=PATCHED_MODULES)


tracer = _tracer()


def in_this_trace(
    work: Callable[P, R],
    *,
    subsegment: str | None = None,
    annotations: Callable[[R], Mapping[str, str]] | None = None,
) -> Callable[P, R]:
    """`work`, to run in a worker thread inside the trace entity current where this is called
    (call it in the submitting thread), in a subsegment `## {subsegment}` if one is named,
    annotated with `annotations(result)`. With tracing off, `work` itself."""
    if tracer.disabled:
        return work
    recorder: Any = tracer.provider
    parent = recorder.get_trace_entity()
    if parent is None:
        return work

    @functools.wraps(work)
    def in_parent(*args: P.args, **kwargs: P.kwargs) -> R:
        recorder.set_trace_entity(parent)
        try:
            if subsegment is None:
                return work(*args, **kwargs)
            with recorder.in_subsegment(f"## {subsegment}") as recorded:
                result = work(*args, **kwargs)
                for key, value in (annotations(result) if annotations else {}).items():
                    recorded.put_annotation(key, value)
                return result
        finally:
            recorder.clear_trace_entities()  # a pool thread must not keep this invocation's

    return in_parent


def traced_lookup(api: str, lookup: Callable[P, R]) -> Callable[P, R]:
    """A lookup to run in a worker thread as `## {api} lookup` under the caller's subsegment,
    annotated with its status and error code: never the address, the URL or what was found."""
    return in_this_trace(lookup, subsegment=f"{api} lookup", annotations=_lookup_outcome)


def _lookup_outcome(result: Any) -> dict[str, str]:
    outcome = {"LookupStatus": result.status}
    if result.error is not None:
        outcome["LookupError"] = result.error.code
    return outcome
