"""Content parts going in (images, files, audio; Anthropic image and document blocks): what the
fake records, and what each provider refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.provider import FakeProvider
from tests.unit.fake_support import (
    ANTHROPIC_PATH,
    DEEPSEEK_PATH,
    KEY,
    OPENAI_PATH,
    OPENROUTER_PATH,
    PDF,
    anthropic_body,
    b64,
    directive,
    png,
    post,
)

PNG = png(3, 2)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    with FakeProvider(require_key=KEY) as provider:
        yield provider


def user_parts(*parts: dict[str, Any], text: str = "Describe these.") -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": text}, *parts]}]


def image_url(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url} | extra}


def pdf_part(data: str | None = None, filename: str = "doc.pdf") -> dict[str, Any]:
    file_data = data or f"data:application/pdf;base64,{b64(PDF)}"
    return {"type": "file", "file": {"filename": filename, "file_data": file_data}}


def chat(
    fake: FakeProvider, path: str, messages: list[dict[str, Any]], **extra: Any
) -> httpx.Response:
    return post(fake, path, {"model": "m", "messages": messages} | extra)


def error_message(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    message: str = response.json()["error"]["message"]
    return message


def test_openai_parts_are_recorded(fake: FakeProvider) -> None:
    parts = (
        image_url("https://example.com/a.jpg", detail="high"),
        image_url(f"data:image/png;base64,{b64(PNG)}"),
        {"type": "input_audio", "input_audio": {"data": b64(b"RIFF0000WAVE"), "format": "wav"}},
        pdf_part(),
    )
    text = "Describe these. " + directive(tokens=1, tag="parts")
    response = chat(fake, OPENAI_PATH, user_parts(*parts, text=text))
    assert response.status_code == 200
    usage = response.json()["usage"]
    assert usage["prompt_tokens"] == len(text.split()) + 4 * 85  # words + a flat 85 per part
    record = fake.wait_for("parts")
    assert record["body"]["messages"][0]["content"][1] == parts[0]  # verbatim, as sent
    assert record["parts"] == [
        {
            "path": "messages.0.content.1",
            "type": "image_url",
            "detail": "high",
            "source": "url",
            "url": "https://example.com/a.jpg",
        },
        {
            "path": "messages.0.content.2",
            "type": "image_url",
            "detail": None,
            "source": "data",
            "media_type": "image/png",
            "bytes": len(PNG),
            "size": [3, 2],
        },
        {
            "path": "messages.0.content.3",
            "type": "input_audio",
            "source": "base64",
            "format": "wav",
            "bytes": 12,
        },
        {
            "path": "messages.0.content.4",
            "type": "file",
            "filename": "doc.pdf",
            "source": "data",
            "media_type": "application/pdf",
            "bytes": len(PDF),
        },
    ]


def test_openai_part_errors(fake: FakeProvider) -> None:
    detail = chat(fake, OPENAI_PATH, user_parts(image_url("https://x.test/a.png", detail="ultra")))
    assert detail.json()["error"] == {
        "message": "Invalid value: 'ultra'. Supported values are: 'auto', 'low', and 'high'.",
        "type": "invalid_request_error",
        "param": "messages[0].content[1].image_url.detail",
        "code": "invalid_value",
    }
    not_pdf = chat(fake, OPENAI_PATH, user_parts(pdf_part(f"data:text/plain;base64,{b64(b'hi')}")))
    assert "unsupported MIME type 'text/plain'" in error_message(not_pdf)
    audio = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "ogg"}}
    assert error_message(chat(fake, OPENAI_PATH, user_parts(audio))) == (
        "Invalid value: 'ogg'. Supported values are: 'wav' and 'mp3'."
    )
    bogus = chat(fake, OPENAI_PATH, user_parts({"type": "video", "video": {}}))
    assert bogus.json()["error"]["param"] == "messages[0].content[1].type"
    bad_image = chat(fake, OPENAI_PATH, user_parts(image_url("data:text/html;base64,PGI+")))
    assert bad_image.json()["error"]["param"] == "messages[0].content[1].image_url.url"


def test_deepseek_takes_no_media(fake: FakeProvider) -> None:
    for part in (image_url("https://x.test/a.png"), pdf_part()):
        message = error_message(chat(fake, DEEPSEEK_PATH, user_parts(part)))
        kind = part["type"]
        assert message.startswith(
            "Failed to deserialize the JSON body into the target type: messages[0]: "
            f"unknown variant `{kind}`, expected `text` at line 1 column "
        )
    text_parts = [{"role": "user", "content": [{"type": "text", "text": "just text"}]}]
    assert chat(fake, DEEPSEEK_PATH, text_parts).status_code == 200


def test_openrouter_files_and_annotations(fake: FakeProvider) -> None:
    url_pdf = pdf_part("https://bitcoin.org/bitcoin.pdf", "bitcoin.pdf")
    response = chat(
        fake,
        OPENROUTER_PATH,
        user_parts(url_pdf, pdf_part()),
        plugins=[{"id": "file-parser", "pdf": {"engine": "cloudflare-ai"}}],
    )
    assert response.status_code == 200
    annotations = response.json()["choices"][0]["message"]["annotations"]
    assert [a["file"]["name"] for a in annotations] == ["bitcoin.pdf", "doc.pdf"]
    assert all(a["type"] == "file" and len(a["file"]["hash"]) == 64 for a in annotations)
    record = fake.requests()[-1]
    assert record["body"]["plugins"] == [{"id": "file-parser", "pdf": {"engine": "cloudflare-ai"}}]
    assert record["parts"][0]["source"] == "url"


# --- Anthropic -------------------------------------------------------------------------------
def image_block(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type, "data": b64(data)},
    }


def blocks(*items: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": "what is this?"}, *items]


def test_anthropic_images_and_documents(fake: FakeProvider) -> None:
    url_image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}}
    document = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
        "title": "Spec",
        "citations": {"enabled": True},
    }
    text_doc = {
        "type": "document",
        "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
    }
    body = anthropic_body(blocks(image_block(PNG), url_image, document, text_doc))
    response = post(fake, ANTHROPIC_PATH, body)
    assert response.status_code == 200
    record = fake.requests()[-1]
    assert [(p["type"], p["source"]) for p in record["parts"]] == [
        ("image", "base64"),
        ("image", "url"),
        ("document", "base64"),
        ("document", "text"),
    ]
    assert record["parts"][0]["size"] == [3, 2]
    assert record["parts"][2]["title"] == "Spec"
    in_result = [
        {"role": "user", "content": "look"},
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [image_block(PNG)]}
            ],
        },
    ]
    response = post(fake, ANTHROPIC_PATH, anthropic_body("x") | {"messages": in_result})
    assert response.status_code == 200  # images are allowed inside tool results
    assert fake.requests()[-1]["parts"][0]["path"] == "messages.2.content.0.content.0"


def test_anthropic_image_checks(fake: FakeProvider) -> None:
    mismatch = post(fake, ANTHROPIC_PATH, anthropic_body(blocks(image_block(PNG, "image/jpeg"))))
    assert error_message(mismatch) == (
        "messages.0.content.1.source.base64.data: The image was specified using the image/jpeg "
        "media type, but the image appears to be a image/png image"
    )
    bmp = post(fake, ANTHROPIC_PATH, anthropic_body(blocks(image_block(PNG, "image/bmp"))))
    assert error_message(bmp).startswith(
        "messages.0.content.1.source.base64.media_type: Input should be"
    )
    huge = post(fake, ANTHROPIC_PATH, anthropic_body(blocks(image_block(png(8001, 1)))))
    assert error_message(huge).endswith("exceed max allowed size: 8000 pixels")
    many = [image_block(png(2001, 1))] + [image_block(PNG) for _ in range(20)]
    assert post(fake, ANTHROPIC_PATH, anthropic_body(blocks(*many[1:]))).status_code == 200
    refused = post(fake, ANTHROPIC_PATH, anthropic_body(blocks(*many)))
    assert error_message(refused) == (
        "messages.0.content.1.source.base64.data: At least one of the image dimensions exceed max "
        "allowed size for many-image requests: 2000 pixels"
    )
    bad_pdf = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": b64(b"nope")},
    }
    assert error_message(post(fake, ANTHROPIC_PATH, anthropic_body(blocks(bad_pdf)))).endswith(
        "The PDF specified was not valid."
    )


def test_anthropic_ten_megabyte_limit(fake: FakeProvider) -> None:
    big = PNG + b"\0" * (8 * 1024 * 1024)  # about 10.7 MB once base64-encoded
    response = post(fake, ANTHROPIC_PATH, anthropic_body(blocks(image_block(big))))
    assert "image exceeds 10 MB maximum" in error_message(response)
