"""The sandboxes' HTTP wire: a threaded keep-alive server that reads each request strictly
(line, header and body limits), answers control routes, plays fault steps and sends answers."""

from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import TYPE_CHECKING, Any

from local.stand_ins.sandbox_control_routes import CONTROL_PREFIX
from local.stand_ins.sandbox_messages import HTTP_REASONS, ApiRequest, ApiResponse, error

if TYPE_CHECKING:  # the server imports this module
    from local.stand_ins.sandbox_server import SandboxServer

_MAX_LINE = 65536


_MAX_HEADERS = 100


_MAX_BODY = 10 * 1024 * 1024


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, sandbox: SandboxServer, port: int = 0) -> None:
        self.sandbox = sandbox
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks the host name up (socket.getfqdn): slow, and unused.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):  # already gone
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out and hang up are part of the game here


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 with a lean request parser: the sandboxes need only the raw target, a
    dict of headers and the body, and the stdlib's email-based header parsing would cost more
    than everything else a request does."""

    server: SandboxHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the clients' pools expect
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle_one_request(self) -> None:
        line = self.rfile.readline(_MAX_LINE + 1)
        if not line:
            self.close_connection = True
            return
        request = self._read_request(line)
        if request is None:
            return
        sandbox = self.server.sandbox
        if request.path.startswith(CONTROL_PREFIX):
            self._send(sandbox.control(request.method, request.path, request.body))
        else:
            self._serve_api(sandbox, request)

    def _read_request(self, line: bytes) -> ApiRequest | None:
        """Parses one request; answers and returns None when it is malformed."""
        self.close_connection = True  # until the request proves it can keep the connection
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or len(line) > _MAX_LINE:
            self._send(error(400, "bad_request", "Malformed request line"))
            return None
        self.command, self.path, self.request_version = parts
        headers: dict[str, str] = {}
        for _ in range(_MAX_HEADERS):
            raw = self.rfile.readline(_MAX_LINE + 1)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, colon, value = raw.decode("latin-1").partition(":")
            if not colon or len(raw) > _MAX_LINE:
                self._send(error(400, "bad_request", "Malformed header"))
                return None
            headers[name.strip().lower()] = value.strip()
        else:
            self._send(error(431, "bad_request", "Too many headers"))
            return None
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._send(error(411, "bad_request", "Send a Content-Length"))
            return None
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._send(error(400, "bad_request", "Invalid Content-Length"))
            return None
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            return None  # the client hung up mid-body
        connection = headers.get("connection", "").lower()
        if self.request_version == "HTTP/1.0":
            self.close_connection = "keep-alive" not in connection
        else:
            self.close_connection = "close" in connection
        return ApiRequest(self.command, self.path, headers, body)

    def _serve_api(self, sandbox: SandboxServer, request: ApiRequest) -> None:
        request.client = str(self.client_address[0])
        request.generation = sandbox.generation
        response = sandbox.route(request)
        if response is None:
            step = sandbox.next_fault(request)
            if step is not None and self._play(sandbox, step, request):
                return
            response = sandbox.serve(request)
        sandbox.record(request, response.status, response.headers.get("Retry-After"))
        self._send(response)

    def _play(self, sandbox: SandboxServer, step: dict[str, Any], request: ApiRequest) -> bool:
        """Plays one fault step; True when it replaced the answer."""
        sandbox.sleep(float(step.get("delay", 0)))
        if step.get("reset"):
            sandbox.record(request, "reset")
            # SO_LINGER 0: close with a TCP RST, as a crashed peer or a load balancer would.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return True
        if step.get("truncate"):
            sandbox.record(request, "truncated")
            self.close_connection = True
            sent = b'{"data": {"id": 1'
            self._send(ApiResponse(200, sent), content_length=len(sent) + 100)
            return True
        response = _fault_response(sandbox, step)
        if response is None:
            return False
        sandbox.record(request, response.status, response.headers.get("Retry-After"))
        self._send(response)
        return True

    def _send(self, response: ApiResponse, content_length: int | None = None) -> None:
        """Status line, headers and body in one write: one segment for small answers."""
        payload = response.payload()
        lines = [
            f"HTTP/1.1 {response.status} {HTTP_REASONS.get(response.status, '')}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(payload) if content_length is None else content_length}",
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)


def _fault_response(sandbox: SandboxServer, step: dict[str, Any]) -> ApiResponse | None:
    if step.get("non_json"):
        return ApiResponse(200, b"<html>oops</html>", content_type="text/html")
    if "status" not in step:
        return None
    status = int(step["status"])
    headers = {str(k): str(v) for k, v in (step.get("headers") or {}).items()}
    content_type = next(
        (headers.pop(k) for k in list(headers) if k.lower() == "content-type"), None
    )
    # Without a body of its own, the API's error envelope for that status.
    body = step["body"] if "body" in step else sandbox.fault_error(status).body
    if content_type is None:
        content_type = "text/plain" if isinstance(body, str) else "application/json"
    return ApiResponse(status, body, headers, content_type)
