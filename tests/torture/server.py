"""The torture's HTTP server on loopback: what the task's httpx client talks to.

``POST /value`` with JSON ``{"label", "size", "fail"}`` answers 503 to the first ``fail``
requests of its ``Idempotency-Key``, then the bytes :func:`tasks.value` gives. ``POST /poll``
answers ``{"polls": N}``, N counting the requests of its key. Counts are per key, so they hold
across the workers the driver kills. Each request appends ``start KEY PID`` when it arrives and
``end KEY PID`` before its answer to the log the client names (``X-Torture-Log``, as the process
``X-Torture-Pid``): the driver checks requests against the journal as it checks leaf steps.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import tasks

__all__ = ["Server"]


class Server:
    """A threaded server on 127.0.0.1 (an ephemeral port) until :meth:`close`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.serving: dict[int, str] = {}
        """The requests being handled: the pid of the worker that sent each."""
        self.dead: set[str] = set()
        """Workers the driver reaped: a request of theirs still in a socket is dropped unseen."""
        self.http = _Quiet(("127.0.0.1", 0), _handler(self))
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def count(self, key: str) -> int:
        with self.lock:
            self.requests[key] += 1
            return self.requests[key]

    def drain(self, pid: int, timeout: float = 10.0) -> bool:
        """Call when worker ``pid`` is gone: from now on a request of it is dropped unseen (one
        still in a socket or the accept queue, as if it never arrived), and this waits until
        those it sent before are answered, so that the log holds all of its lines before the
        driver reads it. False when that took longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.lock:
            self.dead.add(str(pid))
        while time.monotonic() < deadline:
            with self.lock:
                if str(pid) not in self.serving.values():
                    return True
            time.sleep(0.002)
        return False

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join()


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a killed worker's connection reset: expected hundreds of times


def _log(path: str, event: str, key: str, pid: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, f"{event} {key} {pid}\n".encode())
    finally:
        os.close(fd)


def _handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the client's connection pool is used

        def do_POST(self) -> None:  # noqa: N802 - http.server's spelling
            length = int(self.headers.get("Content-Length", 0))
            body: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers["Idempotency-Key"]
            log, pid = self.headers["X-Torture-Log"], self.headers["X-Torture-Pid"]
            with server.lock:
                if pid in server.dead:
                    self.close_connection = True
                    return
                server.serving[id(self)] = pid
            try:
                self.serve(log, key, pid, body)
            finally:
                with server.lock:
                    del server.serving[id(self)]

        def serve(self, log: str, key: str, pid: str, body: dict[str, Any]) -> None:
            _log(log, "start", key, pid)
            seen = server.count(key)
            if self.path == "/poll":
                status, data = 200, json.dumps({"polls": seen}).encode()
            elif seen <= int(body["fail"]):
                status, data = 503, b"busy, retry"
            else:
                status, data = 200, tasks.value(body["label"], int(body["size"]))
            _log(log, "end", key, pid)
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the worker was killed while waiting for the answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base's name
            pass

    return Handler
