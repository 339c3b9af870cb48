"""Script calls (and commands) made in one turn of the event loop go to Redis as one pipeline.

Alone, every call costs a write, a read and a wake-up on both sides of the socket. Under load
many jobs call in the same turn (their timers fire together, their providers' chunks arrive
together), and one pipeline carries them all: one write, one read. Each script still runs
atomically on its own, in the order it was called, and each caller gets its own reply or error.
A call waits one loop turn (microseconds) before it goes, and is dropped if its caller is
cancelled meanwhile; a call alone goes as it always did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, KeyT


@dataclass(frozen=True, slots=True)
class _Call:
    script: AsyncScript | None  # None: ``args`` is a command
    keys: Sequence[KeyT]
    args: Sequence[EncodableT]
    reply: asyncio.Future[Any]

    def command(self) -> tuple[EncodableT, ...]:
        if self.script is None:
            return tuple(self.args)
        return ("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.args)

    async def run_alone(self, redis: Redis) -> Any:
        """The call on its own; a script that Redis does not know is loaded again."""
        if self.script is None:
            return await redis.execute_command(*self.args)  # type: ignore[no-untyped-call,unused-ignore]
        return await self.script(keys=self.keys, args=self.args)


@dataclass(slots=True)
class _Batch:
    loop: asyncio.AbstractEventLoop
    calls: list[_Call] = field(default_factory=list)


class AutoPipeline:
    """Runs scripts and commands on one client, pipelining the calls of one loop turn."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._batch: _Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._loaded: set[str] = set()  # the shas of the scripts this process loaded

    def script(self, source: str) -> PipelinedScript:
        """A script registered on the client, called through this pipeline."""
        return PipelinedScript(self, self.redis.register_script(source))

    async def load(self, script: AsyncScript) -> None:
        """Load ``script`` into Redis. Each is loaded before its first call, not on a NOSCRIPT
        reply: fakeredis's TCP server, which ``up`` runs without Redis, drops the connection
        instead of sending one."""
        script.sha = await self.redis.script_load(script.script)
        self._loaded.add(script.sha)

    async def execute(self, *command: EncodableT) -> Any:
        """The command's reply, or its error, as ``redis.execute_command`` would give."""
        return await self.run(None, (), command)

    async def run(
        self, script: AsyncScript | None, keys: Sequence[KeyT], args: Sequence[EncodableT]
    ) -> Any:
        """The script's reply, or the error it raised, as ``script(keys, args)`` would give
        (``script`` None: ``args`` is a command)."""
        loop = asyncio.get_running_loop()
        batch = self._batch
        if batch is None or batch.loop is not loop:
            self._batch = batch = _Batch(loop)
            # A new task's first step runs in the next turn: the calls of this one join it.
            task = loop.create_task(self._send(batch))
            self._sending.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._sending.discard)
        call = _Call(script, keys, args, loop.create_future())
        batch.calls.append(call)
        return await call.reply

    async def _send(self, batch: _Batch) -> None:
        if self._batch is batch:
            self._batch = None  # later calls start the next batch
        calls = [call for call in batch.calls if not call.reply.done()]  # done: cancelled
        try:
            if not calls:
                return
            for script in {call.script for call in calls if call.script is not None}:
                if script.sha not in self._loaded:
                    await self.load(script)
            if len(calls) == 1:
                await _settle(calls[0], calls[0].run_alone(self.redis))
                return
            pipe = self.redis.pipeline(transaction=False)
            for call in calls:
                pipe.execute_command(*call.command())
            replies = await pipe.execute(raise_on_error=False)
            for call, reply in zip(calls, replies, strict=True):
                if isinstance(reply, NoScriptError):  # Redis restarted or was flushed: load it
                    await _settle(call, call.run_alone(self.redis))
                elif isinstance(reply, Exception):
                    _fail(call, reply)
                elif not call.reply.done():  # done: cancelled while the batch was out
                    call.reply.set_result(reply)
        except BaseException as exc:  # each call not settled yet failed with the pipeline
            for call in calls:
                _fail(call, exc)
            if not isinstance(exc, Exception):
                raise


class PipelinedScript:
    """Called like redis-py's script object: ``await script(keys=[...], args=[...])``."""

    def __init__(self, pipeline: AutoPipeline, script: AsyncScript) -> None:
        self._pipeline = pipeline
        self.script = script

    async def load(self) -> None:
        """Load it now rather than with its first call."""
        await self._pipeline.load(self.script)

    async def __call__(self, keys: Sequence[KeyT] = (), args: Sequence[EncodableT] = ()) -> Any:
        return await self._pipeline.run(self.script, keys, args)


async def _settle(call: _Call, reply: Coroutine[Any, Any, Any]) -> None:
    try:
        result = await reply
    except Exception as exc:
        _fail(call, exc)
    else:
        if not call.reply.done():
            call.reply.set_result(result)


def _fail(call: _Call, exc: BaseException) -> None:
    if call.reply.done():
        return
    if isinstance(exc, asyncio.CancelledError):
        call.reply.cancel()
    else:
        call.reply.set_exception(exc)
