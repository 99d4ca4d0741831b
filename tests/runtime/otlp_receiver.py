"""A small OTLP/HTTP receiver on loopback for tests: it decodes the protobuf export requests
(opentelemetry-proto) and keeps the spans, as a collector would receive them."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

__all__ = ["Received", "Receiver", "receiver"]


@dataclass(frozen=True)
class Received:
    """One span as it arrived: ids in hex, attributes as plain values, the sender's service."""

    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict[str, object]
    error: bool
    start: int
    end: int


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


class Receiver:
    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.lock = threading.Lock()
        self.endpoint = ""

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        got = []
        for resource in request.resource_spans:
            attributes = {a.key: _value(a.value) for a in resource.resource.attributes}
            service = str(attributes.get("service.name", ""))
            for scope in resource.scope_spans:
                for span in scope.spans:
                    got.append(Received(
                        service, span.name, span.trace_id.hex(), span.span_id.hex(),
                        span.parent_span_id.hex() or None,
                        {a.key: _value(a.value) for a in span.attributes},
                        span.status.code == span.status.STATUS_CODE_ERROR,
                        span.start_time_unix_nano, span.end_time_unix_nano))
        with self.lock:
            self.spans.extend(got)

    def named(self, name: str) -> list[Received]:
        with self.lock:
            return [span for span in self.spans if span.name == name]


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A receiver listening on a free loopback port; its ``endpoint`` is the OTLP base URL."""
    kept = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path == "/v1/traces":
                kept.take(body)
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the test reads what arrived, not the access log

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    kept.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield kept
    finally:
        server.shutdown()
        server.server_close()
