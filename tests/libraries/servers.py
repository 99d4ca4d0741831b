"""Real HTTP servers on loopback for the library tests, run in a thread of the test process so that
they outlive the ``durablec run`` processes the tests SIGKILL.

- :class:`Payments`: ``POST /charges`` answers 503 to the first request for each
  ``Idempotency-Key`` and then 200 with a charge; like a real payments API it makes at most one
  charge per key and hands the same charge back for a repeated key. It counts what it saw, so a
  test asserts one charge per key *and* that the key did not change between retries (a new key
  would be a second charge). ``GET /report`` streams a body in chunks.
- :class:`ChatModel`: an OpenAI-compatible ``POST /v1/chat/completions``, plain JSON and
  ``stream=True`` server-sent events, counting calls per prompt.

Both can hold a request (``hold_at``): the server does its work and then waits before answering
(or, for a streamed body, after the first chunks) until the test has killed the client, which
lands a kill exactly "after the effect, before the response" (the case idempotency keys exist
for) or in the middle of a stream.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Server:
    def __init__(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                outer._dispatch(self)

            def do_GET(self) -> None:
                outer._dispatch(self)

        self.lock = threading.Lock()
        self.requests = 0
        self.hold_at: dict[int, int] = {}  # request ordinal -> streamed chunks sent before holding
        self.holding = 0  # requests held so far
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> _Server:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def release(self) -> None:
        """Let held requests answer (to a client that is gone by now)."""
        self._release.set()
        self._release = threading.Event()

    def _dispatch(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        with self.lock:
            self.requests += 1
            ordinal = self.requests
            status, payload = self.handle(handler, body)
            release = self._release
        hold = self.hold_at.get(ordinal)
        if hold == 0 or (hold is not None and not isinstance(payload, Iterator)):
            self._hold(release)
        try:
            if isinstance(payload, Iterator):
                handler.send_response(status)
                for name, value in self.stream_headers().items():
                    handler.send_header(name, value)
                handler.send_header("Transfer-Encoding", "chunked")
                handler.end_headers()
                for sent, chunk in enumerate(payload):
                    if sent and sent == hold:
                        self._hold(release)
                    handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    handler.wfile.flush()
                handler.wfile.write(b"0\r\n\r\n")
            else:
                data = json.dumps(payload).encode()
                handler.send_response(status)
                handler.send_header("Content-Type", "application/json")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
        except OSError:
            pass  # the client was killed while the request was held

    def _hold(self, release: threading.Event) -> None:
        with self.lock:
            self.holding += 1
        release.wait(60)

    def handle(self, handler: BaseHTTPRequestHandler, body: Any) -> tuple[int, Any]:
        raise NotImplementedError

    def stream_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/octet-stream"}


class Payments(_Server):
    """A payments API with idempotency keys (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()  # requests per idempotency key
        self.charges: dict[str, dict[str, Any]] = {}  # the one charge made per key
        self.made: Counter[str] = Counter()  # charges made per key: the effect
        self.reports = 0
        self.polls: Counter[str] = Counter()  # GET /charges/<id> per charge

    def handle(self, handler: BaseHTTPRequestHandler, body: Any) -> tuple[int, Any]:
        if handler.path.startswith("/report"):
            self.reports += 1
            return 200, iter([b"line %d\n" % n for n in range(5)])
        if handler.command == "GET":  # GET /charges/<id>: pending for the first two polls
            charge_id = handler.path.rsplit("/", 1)[-1]
            self.polls[charge_id] += 1
            return 200, {"id": charge_id,
                         "status": "pending" if self.polls[charge_id] <= 2 else "succeeded"}
        key = handler.headers.get("Idempotency-Key") or ""
        self.seen[key] += 1
        if self.seen[key] == 1:
            return 503, {"error": "try again"}
        if key not in self.charges:
            self.made[key] += 1
            self.charges[key] = {"id": f"ch_{len(self.charges) + 1}", "amount": body["amount"],
                                 "status": "succeeded"}
        return 200, self.charges[key]


class ChatModel(_Server):
    """An OpenAI-compatible chat completions endpoint (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()  # calls per last message content

    def stream_headers(self) -> dict[str, str]:
        return {"Content-Type": "text/event-stream"}

    def handle(self, handler: BaseHTTPRequestHandler, body: Any) -> tuple[int, Any]:
        messages = body["messages"]
        last = messages[-1]
        prompt = str(last.get("content"))
        self.calls[prompt] += 1
        base = {"id": f"chatcmpl-{self.requests}", "created": 0, "model": body["model"]}
        if body.get("stream"):
            words = prompt.upper().split()
            return 200, _events(base, words)
        if body.get("tools") and last["role"] == "user":
            calls = [{"id": f"call_{n}", "type": "function",
                      "function": {"name": "lookup", "arguments": json.dumps({"city": city})}}
                     for n, city in enumerate(prompt.split())]
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": calls}
            reason = "tool_calls"
        elif last["role"] == "tool":
            results = [m["content"] for m in messages if m["role"] == "tool"]
            message, reason = {"role": "assistant", "content": " ".join(results)}, "stop"
        else:
            message, reason = {"role": "assistant", "content": f"echo: {prompt}"}, "stop"
        return 200, {**base, "object": "chat.completion",
                     "choices": [{"index": 0, "message": message, "finish_reason": reason}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _events(base: dict[str, Any], words: list[str]) -> Iterator[bytes]:
    for word in words:
        chunk = {**base, "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    done = {**base, "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    yield b"data: " + json.dumps(done).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"
