"""What a message carries besides text: content parts, tool calls and the reasoning some
providers need echoed back, in the gateway's one internal form (OpenAI's Chat Completions shapes,
which adapters translate to each provider's dialect and back).

The gateway never fetches a URL itself: an ``http(s)`` image or file URL goes to the provider,
which fetches it (OpenAI, OpenRouter and Anthropic do); a step that cannot take URLs is skipped.
``data:`` URLs are checked here (base64, media type, size) so that a bad one is a 400 at once.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from shared.errors import InvalidDataUrl, UnsupportedUrl

# How many images and files a request may carry, and how large, is the settings' word
# (``AttachmentLimits``, checked at admission); these only bound what is parsed at all.
MAX_IMAGE_BYTES = 64 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
FILE_MEDIA_TYPES = ("application/pdf",)
AUDIO_FORMATS = ("wav", "mp3")
TOOL_NAME = r"^[a-zA-Z0-9_-]{1,64}$"
_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)(?P<params>(;[\w.+-]+=[^;,]*)*);base64,")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptCacheMark(_Part):
    """Anthropic's ``cache_control``: a prompt-cache breakpoint after this block (honoured by
    providers that cache on markers, dropped for the others)."""

    type: Literal["ephemeral"] = "ephemeral"
    ttl: Literal["5m", "1h"] | None = None


class DataUrl(BaseModel):
    """A ``data:<media type>;base64,<data>`` URL, checked and measured."""

    media_type: str
    data: str  # the base64 text

    @property
    def size_bytes(self) -> int:
        """Decoded size, without decoding."""
        padding = self.data.count("=", -2)
        return len(self.data) * 3 // 4 - padding

    @classmethod
    def parse(cls, url: str, *, kind: str) -> DataUrl:
        """Raises a validation error whose type is the stable code (invalid_data_url)."""
        match = _DATA_URL.match(url)
        if match is None:
            raise _refused(InvalidDataUrl, f"a {kind} data: URL is data:<media type>;base64,...")
        data = url[match.end() :]
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _refused(InvalidDataUrl, f"the {kind}'s data: URL is not valid base64") from exc
        return cls(media_type=match["media"].lower(), data=data)


def _refused(error: type[InvalidDataUrl | UnsupportedUrl], message: str) -> PydanticCustomError:
    return PydanticCustomError(error.code, message)


def _checked_url(url: str, kind: str, media_types: tuple[str, ...]) -> str:
    if url.startswith(("http://", "https://")):
        return url
    if not url.startswith("data:"):
        raise _refused(UnsupportedUrl, f"a {kind} URL is http(s) or data: (no other scheme)")
    parsed = DataUrl.parse(url, kind=kind)
    if parsed.media_type not in media_types:
        raise _refused(InvalidDataUrl, f"the {kind} is one of {', '.join(media_types)}")
    return url


class TextPart(_Part):
    type: Literal["text"] = "text"
    text: str
    cache_control: PromptCacheMark | None = None


class ImageUrl(_Part):
    url: str = Field(max_length=MAX_IMAGE_BYTES * 2)
    detail: Literal["auto", "low", "high"] | None = None

    @field_validator("url")
    @classmethod
    def _known_source(cls, url: str) -> str:
        return _checked_url(url, "image", IMAGE_MEDIA_TYPES)

    @property
    def inline(self) -> DataUrl | None:
        return DataUrl.parse(self.url, kind="image") if self.url.startswith("data:") else None


class ImagePart(_Part):
    type: Literal["image_url"] = "image_url"
    image_url: ImageUrl
    cache_control: PromptCacheMark | None = None


class FileData(_Part):
    """A file given inline (``file_data``, a data URL or an http(s) URL) or by ``file_id``."""

    filename: str | None = Field(None, max_length=256)
    file_data: str | None = Field(None, max_length=MAX_FILE_BYTES * 2)
    file_id: str | None = Field(None, max_length=256)

    @field_validator("file_data")
    @classmethod
    def _known_source(cls, url: str | None) -> str | None:
        return None if url is None else _checked_url(url, "file", FILE_MEDIA_TYPES)

    @property
    def inline(self) -> DataUrl | None:
        data = self.file_data
        return DataUrl.parse(data, kind="file") if data and data.startswith("data:") else None


class FilePart(_Part):
    type: Literal["file"] = "file"
    file: FileData
    cache_control: PromptCacheMark | None = None


class InputAudio(_Part):
    data: str
    format: Literal["wav", "mp3"]


class AudioPart(_Part):
    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio


ContentPart = Annotated[TextPart | ImagePart | FilePart | AudioPart, Field(discriminator="type")]


class FunctionCall(_Part):
    # Echoed from answers: the openai SDK's parse helpers add parsed_arguments, which go.
    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    # A JSON string, as the model wrote it (it may not parse).
    arguments: str = Field("", max_length=1_000_000)


class ToolCall(_Part):
    """A call an assistant turn made; the ``tool`` message with its ``id`` answers it."""

    # Echoed from answers: stream accumulators keep each call's ``index``, which goes.
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCall


class ReasoningDetail(BaseModel):
    """A piece of the model's reasoning that must go back to the provider unchanged on later
    turns (OpenRouter's ``reasoning_details`` form, which also carries Anthropic's signed
    ``thinking`` as ``reasoning.text`` + ``signature`` and ``redacted_thinking`` as
    ``reasoning.encrypted``). Fields this release does not know are kept as they came."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(max_length=64)
    text: str | None = None
    signature: str | None = None
    data: str | None = None
    summary: str | None = None
    format: str | None = None
    index: int | None = None
    id: str | None = None


class FunctionTool(_Part):
    name: str = Field(pattern=TOOL_NAME)
    # Claude Code's Bash tool alone is described in 10,777 characters (2.1.332, sonnet-4-6).
    description: str | None = Field(None, max_length=100_000)
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Part):
    """A function the model may call, its arguments described by a JSON Schema."""

    type: Literal["function"] = "function"
    function: FunctionTool
    cache_control: PromptCacheMark | None = None


class NamedFunction(_Part):
    name: str = Field(pattern=TOOL_NAME)


class NamedToolChoice(_Part):
    type: Literal["function"] = "function"
    function: NamedFunction


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class JsonSchemaFormat(_Part):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    # Named "schema" on the wire; pydantic models have a .schema() of their own.
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TextFormat(_Part):
    type: Literal["text"] = "text"


class JsonObjectFormat(_Part):
    type: Literal["json_object"] = "json_object"


class JsonSchemaResponseFormat(_Part):
    type: Literal["json_schema"] = "json_schema"
    json_schema: JsonSchemaFormat


ResponseFormat = Annotated[
    TextFormat | JsonObjectFormat | JsonSchemaResponseFormat, Field(discriminator="type")
]


class AssistantMessage(BaseModel):
    """An answer as a whole: its text, reasoning, tool calls (with whole argument strings) and
    the reasoning details to send back on the next turn."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reasoning_details: list[ReasoningDetail] = Field(default_factory=list)
