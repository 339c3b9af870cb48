"""A ``multipart/form-data`` upload read as it arrives: its one file part streams on (to
storage), its few text fields are kept; nothing is buffered whole, and the size is capped."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from shared.errors import FileTooLarge, InvalidRequest, MalformedBody

MAX_FIELD_BYTES = 4096
# Room for the part headers and the text fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class MultipartUpload:
    """One upload's form: iterate ``file_chunks(body)``, then read ``fields`` and ``filename``."""

    def __init__(self, content_type: str, *, max_file_bytes: int) -> None:
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise InvalidRequest(
                "upload the file as multipart/form-data", details={"param": "file"}
            )
        self.max_file_bytes = max_file_bytes
        self.max_body_bytes = max_file_bytes + FORM_OVERHEAD_BYTES
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_bytes = 0
        self._pending: list[bytes] = []
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part: str | None = None  # the field name of the part being read
        self._in_file = False
        self._field = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    async def file_chunks(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """The file part's bytes, as the body arrives; reads the body to its end."""
        received = 0
        try:
            async for chunk in body:
                received += len(chunk)
                if received > self.max_body_bytes:
                    raise FileTooLarge(f"the file is larger than {self.max_file_bytes} bytes")
                self._parser.write(chunk)
                if self._pending:
                    pending, self._pending = self._pending, []
                    for piece in pending:
                        yield piece
            self._parser.finalize()
        except FormParserError as exc:
            raise MalformedBody("the body is not valid multipart/form-data") from exc

    def _part_begin(self) -> None:
        self._disposition = b""
        self._part = None
        self._in_file = False
        self._field.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part = name
        if name == "file" or b"filename" in options:
            if self.filename is not None:
                raise InvalidRequest("upload one file at a time", details={"param": "file"})
            self._in_file = True
            raw = options.get(b"filename", b"upload.jsonl").decode("utf-8", "replace")
            self.filename = raw.replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload.jsonl"

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.file_bytes += end - start
            self._pending.append(bytes(data[start:end]))
            return
        self._field += data[start:end]
        if len(self._field) > MAX_FIELD_BYTES:
            raise InvalidRequest(f"form field {self._part!r} is too long")

    def _part_end(self) -> None:
        if not self._in_file and self._part:
            self.fields[self._part] = self._field.decode("utf-8", "replace")
