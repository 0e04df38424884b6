"""Real HTTP servers on 127.0.0.1 for the OpenAI and Anthropic provider tests.

* :func:`start_llama_server`: llama.cpp's server (OpenAI and Anthropic Messages API) serving a GGUF model, run by
  ``tests/support/serve_gguf.py`` from the xllamacpp wheel (nothing to compile).
* :class:`FaultProxy`: a tiny reverse proxy in front of a real server that answers scripted faults first (429 with
  Retry-After, 5xx, a slow answer, a malformed body) and then forwards requests unchanged.
"""

from __future__ import annotations

import http.client
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
SERVE_SCRIPT = REPO / "tests" / "support" / "serve_gguf.py"
# SmolLM2's ChatML with a tool section (its own template has none): see the comment at the top of the file.
TOOL_TEMPLATE = REPO / "tests" / "support" / "chatml-tools.jinja"
START_TIMEOUT_S = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A started server process and its base URL."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_ready(server: Server, probe: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(urllib.request.Request(probe, headers=headers), timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    server.stop()
    tail = server.log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"server did not start ({probe}); log tail:\n{tail}")


@contextmanager
def start_llama_server(model: Path, api_key: str, *, threads: int = 2) -> Iterator[str]:
    """llama.cpp's server with an API key; yields its base URL (OpenAI under ``/v1``, Anthropic ``/v1/messages``)."""
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
    command = [
        sys.executable,
        str(SERVE_SCRIPT),
        str(model),
        "--port",
        str(port),
        "--api-key",
        api_key,
        "--threads",
        str(threads),
        "--chat-template-file",
        str(TOOL_TEMPLATE),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    _wait_ready(server, f"{server.url}/health", {})
    try:
        yield server.url
    finally:
        server.stop()
        log.unlink(missing_ok=True)


@dataclass
class Fault:
    """One scripted answer: an HTTP status with headers and body, or a delay before forwarding."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0


class FaultProxy:
    """A reverse proxy on 127.0.0.1 that plays scripted :class:`Fault` s, then forwards to ``upstream``."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.faults: queue.Queue[Fault] = queue.Queue()
        self.requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, *faults: Fault) -> None:
        for fault in faults:
            self.faults.put(fault)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            fault = self.faults.get_nowait()
        except queue.Empty:
            fault = Fault()
        if fault.delay_s:
            time.sleep(fault.delay_s)
        if fault.status:
            self._reply(handler, fault.status, {"Content-Type": "application/json", **fault.headers}, fault.body)
            return
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in {"host", "connection"}}
        path = handler.path
        connection.request(handler.command, path, body=body, headers=headers)
        answer = connection.getresponse()
        content = answer.read()
        kept = {
            k: v
            for k, v in answer.getheaders()
            if k.lower() not in {"transfer-encoding", "connection", "content-length"}
        }
        connection.close()
        self._reply(handler, answer.status, kept, content)

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            handler.send_response(status)
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            pass
