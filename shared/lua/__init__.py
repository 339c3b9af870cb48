"""The Lua scripts every atomic multi-key step runs in Redis, one file each.

A script uses the functions of another file with a line ``-- include: <name>``, which
``lua_source`` replaces with that file's text (Redis scripts have no modules of their own).
"""

from __future__ import annotations

from importlib import resources

INCLUDE = "-- include: "


def lua_source(name: str) -> str:
    """The text of ``shared/lua/<name>``, its includes filled in."""
    text = resources.files(__name__).joinpath(name).read_text()
    return "".join(
        lua_source(line.removeprefix(INCLUDE).strip()) if line.startswith(INCLUDE) else line
        for line in text.splitlines(keepends=True)
    )
