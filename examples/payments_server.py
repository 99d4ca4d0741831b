"""A small payments API on loopback for the orders demo: idempotent charges that fail transiently.

``POST /charges`` with an ``Idempotency-Key`` header and a JSON body ``{"amount": N}`` answers
503 to the first :data:`FAILURES` requests of each key, then charges once per key (like Stripe:
the same key never charges twice) and answers the charge as JSON. ``GET /charges`` lists what
happened per key: the requests, how many were refused, and the one charge.

    python examples/payments_server.py [PORT]     (serves until Ctrl-C; examples/demo.py starts
                                                   its own in a thread)
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAILURES = 2
"""Requests per idempotency key answered 503 before the charge goes through."""


class Payments:
    """The server's state: per idempotency key, the requests seen and the charge made."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.charged = threading.Event()
        """Set when a charge is made (its response not sent yet: the server is still `delay` away)."""

    def charge(self, key: str, amount: int) -> tuple[int, dict[str, Any]]:
        with self.lock:
            seen = self.requests[key] = self.requests.get(key, 0) + 1
            if seen <= FAILURES:
                return 503, {"error": f"gateway busy (request {seen} for this key), retry"}
            charge = self.charges.get(key)
            if charge is None:
                charge = self.charges[key] = {"id": f"ch_{len(self.charges) + 1}", "amount": amount}
                self.charged.set()
            return 200, charge

    def report(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {key: {"requests": count, "refused": min(count, FAILURES),
                          "charge": self.charges.get(key)}
                    for key, count in self.requests.items()}


def serve(payments: Payments, port: int = 0) -> ThreadingHTTPServer:
    """Start serving ``payments`` on 127.0.0.1 in a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's spelling
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            key = self.headers.get("Idempotency-Key")
            if self.path != "/charges" or key is None:
                self.answer(400, {"error": "POST /charges needs an Idempotency-Key header"})
                return
            status, answer = payments.charge(key, int(body.get("amount", 0)))
            time.sleep(payments.delay)  # a slow gateway: a kill can land while it answers
            self.answer(status, answer)

        def do_GET(self) -> None:  # noqa: N802
            self.answer(200, payments.report())

        def answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client was killed while waiting: nobody to answer

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    running = serve(Payments(), int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
    print(f"payments API on http://127.0.0.1:{running.server_port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        running.shutdown()
