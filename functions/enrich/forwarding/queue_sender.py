"""Sends enriched events to the output queue with SendMessageBatch."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError

from checks import strict_json
from forwarding.outcomes import OutcomeCode
from platform_services import aws_calls
from platform_services.deadlines import Deadline
from platform_services.observability import logger, tracer
from platform_services.tracing import in_this_trace

MAX_BATCH_ENTRIES = 10
# SQS caps a message, and the sum of a batch's messages, at 1 MiB (body and attributes).
MAX_BATCH_BYTES = 1_048_576
MAX_MESSAGE_BYTES = 1_048_576
# Entries SQS rejects are tried once more, each on its own: when SQS refuses a whole batch
# (one oversized entry, say), that isolates the entry at fault from the others.
RETRY_ENTRIES_PER_BATCH = 1
# Left unsent: the call could not have started (NOT_SENT) or ended in time.
_OUT_OF_TIME = frozenset({OutcomeCode.NOT_SENT, OutcomeCode.DEADLINE_EXCEEDED})
# The characters SQS accepts in a message body and in String attribute values (the XML 1.0 Char
# production); it refuses a message holding any other with InvalidMessageContents:
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
#   #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF
# String attribute values "have the same restrictions on the content as the message body":
#   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html
# Everything outside is in the BMP, so one \uXXXX escape covers each. Written as the refused
# characters rather than the negation of the allowed ones: the same set, and compiling the
# negated class costs a cold start ~7 ms.
SQS_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    event_id: str
    body: dict[str, Any]
    attributes: dict[str, str]
    group_id: str | None = None
    deduplication_id: str | None = None
    # Tells this message's failure apart from another's with the same event_id (two routes'
    # senders may use the same id): the delivery's key; the event_id when not given.
    key: str = ""
    serialised: str = field(init=False, repr=False)
    # What SQS counts against its limit: the body plus attribute names, types and values.
    size: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Raises ValueError for a body that is not strict JSON (NaN, Infinity)."""
        text = sqs_body(strict_json.dumps(self.body))
        attributes = {name: sqs_text(value) for name, value in self.attributes.items()}
        attributes_size = sum(
            len(k) + len("String") + len(v.encode()) for k, v in attributes.items()
        )
        object.__setattr__(self, "attributes", attributes)
        if not self.key:
            object.__setattr__(self, "key", self.event_id)
        object.__setattr__(self, "serialised", text)
        object.__setattr__(self, "size", len(text.encode()) + attributes_size)

    def entry(self, entry_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Id": entry_id,
            "MessageBody": self.serialised,
            "MessageAttributes": {
                name: {"DataType": "String", "StringValue": value}
                for name, value in self.attributes.items()
            },
        }
        if self.group_id:
            entry["MessageGroupId"] = self.group_id
        if self.deduplication_id:
            entry["MessageDeduplicationId"] = self.deduplication_id
        return entry


def sqs_body(json_text: str) -> str:
    """Escapes, losslessly, what SQS refuses in JSON text. JSON escapes controls itself, so what
    is left (U+FFFE, U+FFFF) can only be inside a string, where a \\uXXXX escape is the same
    character to any parser. A lone surrogate (intake refuses them, so only a defect could bring
    one here) becomes U+FFFD, so that the body stays valid UTF-8."""
    return SQS_REFUSED.sub(_sqs_escape, json_text)


def _sqs_escape(found: re.Match[str]) -> str:
    code = ord(found.group())
    return "\ufffd" if 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}"


def sqs_text(value: str) -> str:
    """A String attribute value: what SQS refuses becomes U+FFFD (a plain string has no escapes)."""
    return SQS_REFUSED.sub("\ufffd", value) or "\ufffd"  # SQS refuses empty values too


class QueueSender:
    def __init__(self, queue_url: str, sqs_client: Any) -> None:
        self.queue_url = queue_url
        self._sqs = sqs_client
        # Batches sent while lookups still run (in_background). A FIFO queue's messages must
        # reach it in the order they were sent: one batch after the other there.
        in_flight = 1 if queue_url.endswith(".fifo") else 2
        self._pool = ThreadPoolExecutor(in_flight, thread_name_prefix="sqs")

    def in_background(
        self,
    ) -> Callable[
        [Sequence[OutgoingMessage], Deadline | None, Deadline | None], Future[dict[str, str]]
    ]:
        """`send`, run in the background. Get it in the thread whose trace the sends belong
        to: their subsegments nest where that thread was when this was called."""
        send = in_this_trace(self.send)
        return lambda messages, deadline, start_by=None: self._pool.submit(
            send, messages, deadline, start_by
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    @tracer.capture_method  # its answer, {message key: reason} for the failed, is in the trace
    def send(
        self,
        messages: Sequence[OutgoingMessage],
        deadline: Deadline | None = None,
        start_by: Deadline | None = None,
    ) -> dict[str, str]:
        """Sends every message it can by `deadline`; returns {message key: reason} for those it
        could not: an OutcomeCode, or the code SQS gave. With `start_by`, no call starts after
        it: what is left is NOT_SENT (nothing of it reached SQS), so that a call's answer is
        never cut off by the deadline, leaving a message both on the queue and reported as
        failed."""
        failed: dict[str, str] = {}
        pending: list[OutgoingMessage] = []
        for message in messages:
            if message.size > MAX_MESSAGE_BYTES:
                failed[message.key] = OutcomeCode.TOO_LARGE
            else:
                pending.append(message)
        errors: Counter[str] = Counter()  # one log line per call of send, not one per batch
        with aws_calls.within(deadline):
            for entries_per_batch in (MAX_BATCH_ENTRIES, RETRY_ENTRIES_PER_BATCH):
                reasons: dict[str, str] = {}
                for chunk in _chunks(pending, entries_per_batch):
                    if start_by is not None and start_by.remaining() <= 0:
                        reasons.update((message.key, OutcomeCode.NOT_SENT) for message in chunk)
                    else:
                        reasons.update(self._send_chunk(chunk, errors))
                # Tried again one by one: entries SQS refused, or whose call failed. Never those
                # that ran out of time: a retry could only run out of it again.
                for message in pending:
                    if message.key in reasons:
                        failed[message.key] = reasons[message.key]
                    else:
                        failed.pop(message.key, None)  # sent, on its retry
                pending = [
                    m
                    for m in pending
                    if failed.get(m.key, OutcomeCode.NOT_SENT) not in _OUT_OF_TIME
                ]
        if errors:
            logger.warning("SendMessageBatch failures", extra={"errors": dict(errors)})
        return failed

    def _send_chunk(self, chunk: list[OutgoingMessage], errors: Counter[str]) -> dict[str, str]:
        by_entry_id = {f"m{i}": message for i, message in enumerate(chunk)}
        try:
            answer = self._sqs.send_message_batch(
                QueueUrl=self.queue_url,
                Entries=[message.entry(entry_id) for entry_id, message in by_entry_id.items()],
            )
        except (BotoCoreError, ClientError) as exc:
            code = _error_code(exc)
            errors[code] += len(chunk)
            return {message.key: code for message in chunk}
        rejected = {}
        for failure in answer.get("Failed", []):
            code = str(failure.get("Code", OutcomeCode.REJECTED))
            errors[f"{code} (sender fault)" if failure.get("SenderFault") else code] += 1
            rejected[by_entry_id[failure["Id"]].key] = code
        return rejected


def _error_code(exc: BotoCoreError | ClientError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response["Error"]["Code"])
    if isinstance(exc, aws_calls.OutOfTime):
        return OutcomeCode.DEADLINE_EXCEEDED
    if isinstance(exc, ReadTimeoutError | ConnectTimeoutError):
        return OutcomeCode.TIMEOUT
    return OutcomeCode.UNREACHABLE


def _chunks(messages: list[OutgoingMessage], max_entries: int) -> Iterator[list[OutgoingMessage]]:
    chunk: list[OutgoingMessage] = []
    size = 0
    for message in messages:
        if chunk and (len(chunk) == max_entries or size + message.size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(message)
        size += message.size
    if chunk:
        yield chunk
