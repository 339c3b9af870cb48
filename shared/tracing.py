"""OpenTelemetry traces, optional: off unless the standard ``OTEL_*`` variables ask for them and
the ``otel`` extra is installed. Disabled, every call here is a cheap no-op.

A request's trace crosses the queue in the Celery message headers (W3C ``traceparent``), so
the gateway's spans and the worker's spans of one job are one trace.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

log = logging.getLogger(__name__)

# Traces are exported when one of these names an exporter or an endpoint (and the SDK is not
# disabled), as the OpenTelemetry SDK's own configuration does.
_EXPORTER_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """Whether the environment configures trace export."""
    if environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return any(environ.get(name) for name in _EXPORTER_VARIABLES)


class Tracing:
    """The tracer of one process, or nothing. Built once at start and passed in."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider
        self._tracer: Tracer | None = provider.get_tracer("llm-gateway") if provider else None

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], service_name: str) -> Tracing:
        """Tracing as the ``OTEL_*`` variables configure it; disabled when they do not, or when
        the SDK is not installed (said once in the log)."""
        if not tracing_requested(environ):
            return cls()
        try:
            from opentelemetry.sdk.resources import SERVICE_NAME, Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
        except ImportError:
            log.warning("OTEL_* asks for traces but the otel extra is not installed; no traces")
            return cls()
        attributes = {} if environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service_name}
        provider = TracerProvider(resource=Resource.create(attributes))
        exporter_name = environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
        if exporter_name == "console":
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        return cls(provider)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()

    @contextlib.contextmanager
    def span(
        self,
        name: str,
        *,
        kind: str = "internal",
        attributes: Mapping[str, Any] | None = None,
        parent: Context | None = None,
        start_time_ns: int | None = None,
    ) -> Iterator[Span | None]:
        """A span made current for the block (None when tracing is off)."""
        if self._tracer is None:
            yield None
            return
        from opentelemetry.trace import SpanKind

        with self._tracer.start_as_current_span(
            name,
            context=parent,
            kind=SpanKind[kind.upper()],
            attributes=dict(attributes or {}),
            start_time=start_time_ns,
        ) as span:
            yield span

    def start_span(
        self,
        name: str,
        *,
        kind: str = "internal",
        attributes: Mapping[str, Any] | None = None,
        parent: Context | None = None,
        start_time_ns: int | None = None,
    ) -> Span | None:
        """A span the caller ends (``span.end()``), not made current."""
        if self._tracer is None:
            return None
        from opentelemetry.trace import SpanKind

        return self._tracer.start_span(
            name,
            context=parent,
            kind=SpanKind[kind.upper()],
            attributes=dict(attributes or {}),
            start_time=start_time_ns,
        )

    def carrier(self) -> dict[str, str]:
        """The current trace context as W3C headers (empty when tracing is off)."""
        if self._tracer is None:
            return {}
        from opentelemetry.propagate import inject

        headers: dict[str, str] = {}
        inject(headers)
        return headers

    def context_from(self, headers: Mapping[str, str], span: Span | None = None) -> Context | None:
        """The trace context in ``headers``, or that of ``span``; None when tracing is off."""
        if self._tracer is None:
            return None
        from opentelemetry import trace
        from opentelemetry.propagate import extract

        if span is not None:
            return trace.set_span_in_context(span)
        return extract(dict(headers))
