"""OpenTelemetry for ``durablec run`` and ``durablec worker``, configured by the standard
``OTEL_*`` variables (docs/telemetry.md). Importable without the ``otel`` extra: OpenTelemetry is
imported only when a variable asks for it or a task module already imported it.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import TYPE_CHECKING, Literal

from durablec.errors import UsageError
from durablec.runtime.journal import Journal

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["telemetry_from_environment"]

Signal = Literal["traces", "metrics"]


def telemetry_from_environment(journal: Journal) -> None:
    """Emit traces and metrics if the process should: through the providers the application
    configured (the task modules are imported by now), else through SDK providers set up here
    from ``OTEL_*`` for each signal that asks for an exporter. ``journal`` is the one whose run
    gauges a worker reports. Without the extra, or with nothing configured, nothing is installed."""
    asked = bool(_exporters("traces") or _exporters("metrics"))
    if not asked and "opentelemetry" not in sys.modules:
        return  # no variable asks for it and no task module configured it: nothing to import
    try:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        if asked:
            warnings.warn("OTEL_* variables ask for telemetry, but the OpenTelemetry SDK is not "
                          "installed: `pip install 'durablec[otel]'`", RuntimeWarning, stacklevel=2)
        return
    from durablec.runtime.telemetry import instrument

    if not isinstance(trace.get_tracer_provider(), TracerProvider) and _exporters("traces"):
        trace.set_tracer_provider(_tracer_provider())
    if not isinstance(metrics.get_meter_provider(), MeterProvider) and _exporters("metrics"):
        metrics.set_meter_provider(_meter_provider())
    instrument(journal=journal)


def _exporters(signal: Signal) -> list[str]:
    """The exporter names ``OTEL_<SIGNAL>_EXPORTER`` asks for. Unset, it means ``otlp`` only when
    an OTLP endpoint is set: the specification's default (always ``otlp``) would make
    ``OTEL_TRACES_EXPORTER=console`` also send metrics to a collector that is not there."""
    names = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER")
    if names is None:
        endpoint = (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
                    or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"))
        return ["otlp"] if endpoint else []
    return [name.strip() for name in names.split(",") if name.strip() not in ("", "none")]


def _exporter(signal: Signal, name: str) -> object:
    """An exporter instance by its registered name (``otlp`` picks the protocol's package)."""
    from importlib.metadata import entry_points

    if name == "otlp":
        protocol = (os.environ.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
                    or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
        name = {"grpc": "otlp_proto_grpc"}.get(protocol, "otlp_proto_http")
    if name == "console":
        # On stderr: `durablec run` prints the run's result as JSON on stdout.
        if signal == "traces":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            return ConsoleSpanExporter(out=sys.stderr)
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter(out=sys.stderr)
    found = entry_points(group=f"opentelemetry_{signal}_exporter", name=name)
    if not found:
        package = {"otlp_proto_http": "opentelemetry-exporter-otlp-proto-http",
                   "otlp_proto_grpc": "opentelemetry-exporter-otlp-proto-grpc"}.get(name, name)
        raise UsageError(
            f"OTEL_{signal.upper()}_EXPORTER asks for the {name!r} exporter, which is not "
            f"installed: `pip install {package}`, or choose console, otlp or none")
    exporter: object = next(iter(found)).load()()
    return exporter


def _resource() -> Resource:
    from opentelemetry.sdk.resources import Resource

    named = ("OTEL_SERVICE_NAME" in os.environ
             or "service.name=" in os.environ.get("OTEL_RESOURCE_ATTRIBUTES", ""))
    return Resource.create({} if named else {"service.name": "durablec"})


def _tracer_provider() -> TracerProvider:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
        SpanExporter,
    )

    provider = TracerProvider(resource=_resource())
    for name in _exporters("traces"):
        exporter = _exporter("traces", name)
        assert isinstance(exporter, SpanExporter)
        # The console prints each span as it ends (what a person running one task watches);
        # the others batch, off the task's path.
        provider.add_span_processor(SimpleSpanProcessor(exporter)
                                    if isinstance(exporter, ConsoleSpanExporter)
                                    else BatchSpanProcessor(exporter))
    return provider


def _meter_provider() -> MeterProvider:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader

    readers = []
    for name in _exporters("metrics"):
        exporter = _exporter("metrics", name)
        assert isinstance(exporter, MetricExporter)
        readers.append(PeriodicExportingMetricReader(exporter))
    return MeterProvider(metric_readers=readers, resource=_resource())
