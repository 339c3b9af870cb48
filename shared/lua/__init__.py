"""The Lua scripts every atomic multi-key step runs in Redis, one file each."""

from __future__ import annotations

from importlib import resources


def lua_source(name: str) -> str:
    """The text of ``shared/lua/<name>``."""
    return resources.files(__name__).joinpath(name).read_text()
