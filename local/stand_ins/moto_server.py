"""moto's server as the local stack runs it, with a check real SQS makes and moto leaves out.

SQS accepts only these characters in a message body, and in String attribute values ("the same
restrictions on the content as the message body"), and refuses a message holding any other with
InvalidMessageContents:

    #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF

https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html

(Older versions of the SendMessage page said such characters were replaced with U+FFFD; the
current one, and the errors senders report, say the message is refused.) SendMessage answers 400;
SendMessageBatch reports each such entry in `Failed` ("the result of sending each message is
reported individually") and sends the others. Only the JSON protocol, which boto3 speaks, is
checked.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

SQS_ALLOWED = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
SEND_MESSAGE = "AmazonSQS.SendMessage"
SEND_MESSAGE_BATCH = "AmazonSQS.SendMessageBatch"
_REFUSAL = (
    "Invalid binary character '#x{code:X}' was found in the {where}, the set of allowed "
    "characters is #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]."
)

StartResponse = Callable[..., Any]


def refused_character(entry: dict[str, Any]) -> str | None:
    """Why SQS would refuse this SendMessage request or batch entry, or None."""
    texts = [("message body", entry.get("MessageBody") or "")]
    for name, value in (entry.get("MessageAttributes") or {}).items():
        texts.append((f"message attribute {name!r}", value.get("StringValue") or ""))
    for where, text in texts:
        allowed = SQS_ALLOWED.match(text)
        end = allowed.end() if allowed else 0
        if end < len(text):
            return _REFUSAL.format(code=ord(text[end]), where=where)
    return None


class SqsCharacterRule:
    """WSGI middleware in front of moto: refuses what real SQS refuses, passes the rest on."""

    def __init__(self, app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target not in (SEND_MESSAGE, SEND_MESSAGE_BATCH):
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = json.loads(body)
        if target == SEND_MESSAGE:
            reason = refused_character(request)
            if reason:
                return _reply(start_response, "400 Bad Request", _error(reason))
            return self.app(_with_body(environ, body), start_response)
        reasons = {e.get("Id"): refused_character(e) for e in request.get("Entries", [])}
        if not any(reasons.values()):
            return self.app(_with_body(environ, body), start_response)
        failed = [
            {"Id": entry_id, "SenderFault": True, "Code": "InvalidMessageContents", "Message": why}
            for entry_id, why in reasons.items()
            if why
        ]
        kept = [e for e in request["Entries"] if not reasons.get(e.get("Id"))]
        successful: list[dict[str, Any]] = []
        if kept:
            status, headers, answer = self._call(environ, {**request, "Entries": kept})
            if not status.startswith("200"):
                start_response(status, headers)
                return [answer]
            parsed = json.loads(answer)
            successful = parsed.get("Successful", [])
            failed += parsed.get("Failed", [])
        return _reply(start_response, "200 OK", {"Successful": successful, "Failed": failed})

    def _call(
        self, environ: dict[str, Any], request: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        chunks = self.app(_with_body(environ, json.dumps(request).encode()), capture)
        try:
            answer = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        return captured["status"], [*headers, ("Content-Length", str(len(answer)))], answer


def _with_body(environ: dict[str, Any], body: bytes) -> dict[str, Any]:
    return {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}


def _error(message: str) -> dict[str, str]:
    return {"__type": "com.amazonaws.sqs#InvalidMessageContents", "message": message}


def _reply(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(
        status,
        [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))],
    )
    return [body]


class MotoServer:
    """moto's server app (as moto's ThreadedMotoServer builds it) behind SqsCharacterRule, on an
    ephemeral port of 127.0.0.1."""

    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        app = SqsCharacterRule(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
