"""OpenTelemetry's OTLP trace payloads (``ExportTraceServiceRequest``) to and from SpanRecords.

Decoding accepts OTLP/HTTP's two encodings, protobuf and JSON (whose trace and span ids are
hex, not protobuf-JSON's base64). Attribute values become JSON strings, as MLflow stores them,
so ``{"q": 1}`` sent as a kvlist comes back as the same kvlist.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf.json_format import ParseDict
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from trackflow.entities.traces import SpanEvent, SpanRecord, SpanStatus, trace_id_from_otel
from trackflow.errors import InvalidInput, TooLarge

PROTOBUF, JSON = "application/x-protobuf", "application/json"
_STATUS = {Status.STATUS_CODE_OK: SpanStatus.OK, Status.STATUS_CODE_ERROR: SpanStatus.ERROR}
_STATUS_CODE = {SpanStatus.OK: Status.STATUS_CODE_OK, SpanStatus.ERROR: Status.STATUS_CODE_ERROR,
                SpanStatus.UNSET: Status.STATUS_CODE_UNSET}
_HEX_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def decode_request(body: bytes, content_type: str | None, content_encoding: str | None = None,
                   max_bytes: int | None = None) -> list[SpanRecord]:
    """The spans of an OTLP/HTTP trace export; InvalidInput naming what is wrong with it, and
    TooLarge when a compressed body would inflate past ``max_bytes`` (a small gzip bomb)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type not in (PROTOBUF, JSON):
        raise InvalidInput(f"Invalid Content-Type: {content_type}. Expected: {PROTOBUF} or {JSON}")
    body = _decompress(body, (content_encoding or "").lower(), max_bytes)
    request = ExportTraceServiceRequest()
    try:
        if media_type == JSON:
            ParseDict(_hex_ids_to_base64(json.loads(body)), request, ignore_unknown_fields=True)
        else:
            request.ParseFromString(body)
    except (DecodeError, ValueError, TypeError) as exc:
        raise InvalidInput(f"Invalid OpenTelemetry format: {str(exc)[:200]}") from None
    spans = [_span_record(span) for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans]
    if not spans:
        raise InvalidInput("Invalid OpenTelemetry format - no spans found")
    return spans


def encode_request(spans: Sequence[SpanRecord]) -> bytes:
    """One OTLP protobuf export request holding the spans (what trackflow's remote client sends)."""
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.scope.name = "trackflow"
    for record in spans:
        span = scope.spans.add()
        span.trace_id = bytes.fromhex(record.otel_trace_id)
        span.span_id = bytes.fromhex(record.span_id)
        if record.parent_span_id:
            span.parent_span_id = bytes.fromhex(record.parent_span_id)
        span.name = record.name
        span.kind = record.kind  # type: ignore[assignment]
        span.start_time_unix_nano = record.start_time_ns
        span.end_time_unix_nano = record.end_time_ns or 0
        span.status.code = _STATUS_CODE[record.status]  # type: ignore[assignment]
        span.status.message = record.status_message
        span.attributes.extend(_key_values(record.attributes))
        for event in record.events:
            proto_event = span.events.add()
            proto_event.name, proto_event.time_unix_nano = event.name, event.time_unix_nano
            proto_event.attributes.extend(_key_values(event.attributes))
    return request.SerializeToString()


def any_value_json(value: Any) -> dict[str, Any]:
    """An attribute value as protobuf-JSON AnyValue (what MLflow's Trace message carries)."""
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        return {"int_value": value}
    if isinstance(value, float):
        return {"double_value": value}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, list | tuple):
        return {"array_value": {"values": [any_value_json(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlist_value": {"values": [{"key": str(k), "value": any_value_json(v)} for k, v in value.items()]}}
    return {}  # None: an empty AnyValue


def _span_record(span: Span) -> SpanRecord:
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        raise InvalidInput(f"span {span.name!r} needs a 16-byte trace_id and an 8-byte span_id")
    return SpanRecord(
        trace_id=trace_id_from_otel(span.trace_id.hex()),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex() if span.parent_span_id else None,
        name=span.name,
        start_time_ns=span.start_time_unix_nano,
        end_time_ns=span.end_time_unix_nano or None,
        status=_STATUS.get(span.status.code, SpanStatus.UNSET),
        status_message=span.status.message,
        attributes=_attributes(span.attributes),
        events=tuple(SpanEvent(e.name, e.time_unix_nano, _attributes(e.attributes)) for e in span.events),
        kind=int(span.kind),
    )


def _attributes(key_values: Iterable[KeyValue]) -> dict[str, str]:
    return {kv.key: json.dumps(_value(kv.value)) for kv in key_values}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None if which is None else getattr(value, which)


def _key_values(attributes: dict[str, str]) -> list[KeyValue]:
    out = []
    for key, encoded in attributes.items():
        kv = KeyValue(key=key)
        ParseDict(any_value_json(_loads(encoded)), kv.value)
        out.append(kv)
    return out


def _loads(encoded: str) -> Any:
    try:
        return json.loads(encoded)
    except ValueError:
        return encoded


def _hex_ids_to_base64(data: Any) -> Any:
    """OTLP JSON writes ids as hex; protobuf's JSON mapping reads bytes as base64."""
    if not isinstance(data, dict):
        raise InvalidInput("Invalid OpenTelemetry format: the body must be a JSON object")
    for resource_span in data.get("resourceSpans", data.get("resource_spans", [])) or []:
        for scope_span in resource_span.get("scopeSpans", resource_span.get("scope_spans", [])) or []:
            for span in scope_span.get("spans", []) or []:
                for field in _HEX_ID_FIELDS:
                    if isinstance(span.get(field), str) and span[field]:
                        try:
                            span[field] = base64.b64encode(bytes.fromhex(span[field])).decode()
                        except ValueError:
                            bad = f"{field} {span[field]!r} is not hex"
                            raise InvalidInput(f"Invalid OpenTelemetry format: {bad}") from None
    return data


def _decompress(body: bytes, encoding: str, max_bytes: int | None) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise InvalidInput(f"Unsupported Content-Encoding {encoding!r}; use gzip, deflate or none")
    # inflate at most one byte past the limit, so a bomb costs no more memory than the limit
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, (max_bytes + 1) if max_bytes else 0)
    except zlib.error:
        raise InvalidInput(f"the body is not valid {encoding} data") from None
    if max_bytes and (len(out) > max_bytes or inflater.unconsumed_tail):
        raise TooLarge(f"the {encoding} body inflates past the server's limit of {max_bytes / 2**20:g} MB "
                       "(max_upload_mb)")
    if not inflater.eof:
        raise InvalidInput(f"the body is not valid {encoding} data")
    return out
