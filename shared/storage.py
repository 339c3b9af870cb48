"""Where batch input and result files live: a small interface, and a local directory behind it.

The gateway writes uploads and the batch workers read them and write results, so the directory
must be shared by both (a volume in docker-compose, a ReadWriteMany claim in Kubernetes); an
object store can take its place by implementing ``FileStorage``.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

import anyio

from shared.errors import FileTooLarge

READ_CHUNK_BYTES = 256 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class FileStorage(Protocol):
    """Named blobs written once from a stream and read back as one."""

    async def put_stream(
        self, name: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> int:
        """Store ``chunks`` under ``name`` (replacing what was there) and return the size.
        Raises FileTooLarge past ``max_bytes``; nothing is stored unless the stream ends."""
        ...

    def open(self, name: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks; FileNotFoundError when there is no such blob."""
        ...

    async def delete(self, name: str) -> bool:
        """Remove the blob; False when there was none."""
        ...

    async def size(self, name: str) -> int | None:
        """The blob's size, or None when there is none."""
        ...


class LocalDirectoryStorage:
    """Blobs as files in one directory; a write goes to a temporary file renamed at the end, so
    a reader never sees half a file and a crash leaves no partial one under the real name."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"not a storage name: {name!r}")
        return self.root / name

    async def put_stream(
        self, name: str, chunks: AsyncIterable[bytes], *, max_bytes: int | None = None
    ) -> int:
        final = self._path(name)
        await anyio.Path(self.root).mkdir(parents=True, exist_ok=True)
        partial = self.root / f".{name}.{uuid.uuid4().hex}.part"
        written = 0
        try:
            async with await anyio.open_file(partial, "wb") as out:
                async for chunk in chunks:
                    written += len(chunk)
                    if max_bytes is not None and written > max_bytes:
                        raise FileTooLarge(f"the file is larger than {max_bytes} bytes")
                    await out.write(chunk)
            await anyio.to_thread.run_sync(os.replace, partial, final)
        except BaseException:
            await anyio.Path(partial).unlink(missing_ok=True)
            raise
        return written

    async def open(self, name: str) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self._path(name), "rb") as source:
            while chunk := await source.read(READ_CHUNK_BYTES):
                yield chunk

    async def delete(self, name: str) -> bool:
        path = anyio.Path(self._path(name))
        if not await path.exists():
            return False
        await path.unlink(missing_ok=True)
        return True

    async def size(self, name: str) -> int | None:
        try:
            return (await anyio.Path(self._path(name)).stat()).st_size
        except FileNotFoundError:
            return None


async def lines_of(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    """Each line of a stream with its number (from 1), without the line break."""
    number, pending = 0, b""
    async for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            yield number, line.rstrip(b"\r")
    if pending:
        yield number + 1, pending.rstrip(b"\r")
