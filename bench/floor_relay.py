"""The least a gateway built like ours can do per request, for ``bench.floor``: FastAPI on
uvicorn (httptools, uvloop) puts the body in Redis and a Celery task message on the broker list
(one round trip); a Celery worker on a threads pool hands the task to an event loop, which reads
the body, asks the fake provider with aiohttp and publishes its answer on the gateway process's
own channel (subscribed once, as the gateway's event hub is); the gateway returns it. No keys,
limits, events, leases, usage or metrics.

At ``/v1/bare/chat/completions`` the same relay without Celery: the gateway pushes the job id
and a worker's event loop pops it (BRPOP), for what Celery's part costs.

    python -m bench.floor_relay gateway PORT REDIS_URL
    python -m bench.floor_relay worker REDIS_URL UPSTREAM_URL UPSTREAM_KEY
    python -m bench.floor_relay bare-worker REDIS_URL UPSTREAM_URL UPSTREAM_KEY
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any, cast

import aiohttp
import uvicorn
from celery import Celery
from fastapi import FastAPI, Request, Response
from redis.asyncio import Redis

from shared.queue import RUN_JOB_TASK, TaskMessages, create_celery
from shared.settings import Settings
from workers import broker

QUEUE = "floor"
BARE_QUEUE = "floor:bare"
ECHO = b'{"ok":true}'


def body_key(job_id: str) -> str:
    return f"floor:{job_id}"


def floor_celery(redis_url: str) -> Celery:
    """Our Celery configuration and broker transport, on the floor's queue."""
    settings = Settings(redis_url=redis_url, interactive_queue=QUEUE)
    app = create_celery(settings)
    broker.use_for_workers(app, settings)
    return app


class Answers:
    """One pub/sub connection, subscribed to this process's channel; a future per request
    waiting for its answer (published there as the job id, a newline and the answer)."""

    def __init__(self, redis: Redis) -> None:
        self.pubsub = redis.pubsub()
        self.channel = f"floor:gateway:{uuid.uuid4().hex}"
        self.waiting: dict[bytes, asyncio.Future[bytes]] = {}
        self.reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.pubsub.subscribe(self.channel)
        self.reader = asyncio.create_task(self._read())

    def expect(self, job_id: str) -> asyncio.Future[bytes]:
        answer = self.waiting[job_id.encode()] = asyncio.get_running_loop().create_future()
        return answer

    def forget(self, job_id: str) -> None:
        del self.waiting[job_id.encode()]

    async def _read(self) -> None:
        while True:
            message = await self.pubsub.get_message(timeout=None)
            if message is None or message["type"] != "message":
                continue
            job_id, _, answer = message["data"].partition(b"\n")
            waiting = self.waiting.get(job_id)
            if waiting is not None:
                waiting.set_result(answer)


def gateway_app(redis_url: str) -> FastAPI:
    redis = Redis.from_url(redis_url)
    answers = Answers(Redis.from_url(redis_url))
    messages = TaskMessages(floor_celery(redis_url))
    app = FastAPI(on_startup=[answers.start])

    async def relayed(request: Request, queue: str, entry: Callable[[str], bytes]) -> Response:
        job_id = uuid.uuid4().hex
        answer = answers.expect(job_id)
        try:
            stored = b"%s\n%s" % (answers.channel.encode(), await request.body())
            async with redis.pipeline(transaction=True) as pipe:
                pipe.set(body_key(job_id), stored, ex=60)
                pipe.lpush(queue, entry(job_id))
                await pipe.execute()
            return Response(await answer, media_type="application/json")
        finally:
            answers.forget(job_id)

    @app.post("/v1/chat/completions")
    async def relay(body: dict[str, Any], request: Request) -> Response:
        return await relayed(request, QUEUE, lambda job_id: messages.entry(job_id, QUEUE))

    @app.post("/v1/bare/chat/completions")
    async def bare_relay(body: dict[str, Any], request: Request) -> Response:
        return await relayed(request, BARE_QUEUE, str.encode)

    @app.post("/echo")
    async def echo(body: dict[str, Any]) -> Response:
        return Response(ECHO, media_type="application/json")

    return app


def run_gateway(port: int, redis_url: str) -> None:
    uvicorn.run(
        gateway_app(redis_url),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


class Answerer:
    """A job's answer: its body read from Redis, sent to the provider, the reply published on
    the channel stored before the body."""

    def __init__(self, redis_url: str, upstream_url: str, upstream_key: str) -> None:
        self.redis = Redis.from_url(redis_url)
        self.upstream_url = upstream_url
        self.headers = {"Authorization": f"Bearer {upstream_key}"}
        self.http: aiohttp.ClientSession | None = None

    async def answer(self, job_id: str) -> None:
        if self.http is None:  # made on the loop that uses it
            self.http = aiohttp.ClientSession(headers=self.headers)
        stored = cast("bytes", await self.redis.get(body_key(job_id)) or b"")
        channel, _, body = stored.partition(b"\n")
        async with self.http.post(
            self.upstream_url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            reply = await response.read()
        await self.redis.publish(channel, b"%s\n%s" % (job_id.encode(), reply))


def run_bare_worker(redis_url: str, upstream_url: str, upstream_key: str) -> None:
    import uvloop

    answerer = Answerer(redis_url, upstream_url, upstream_key)

    async def consume() -> None:
        redis = Redis.from_url(redis_url)
        running: set[asyncio.Task[None]] = set()
        while True:
            popped = await redis.brpop([BARE_QUEUE], timeout=1)
            if popped is not None:
                job_id = popped[1]  # bytes, unless a client decodes responses
                text = job_id.decode() if isinstance(job_id, bytes) else job_id
                task = asyncio.create_task(answerer.answer(text))
                running.add(task)
                task.add_done_callback(running.discard)

    uvloop.run(consume())


def run_worker(redis_url: str, upstream_url: str, upstream_key: str) -> None:
    import uvloop

    loop = uvloop.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    answerer = Answerer(redis_url, upstream_url, upstream_key)
    app = floor_celery(redis_url)

    @app.task(name=RUN_JOB_TASK, acks_late=True, ignore_result=True)
    def run_job(job_id: str) -> None:
        asyncio.run_coroutine_threadsafe(answerer.answer(job_id), loop).result()

    worker = app.Worker(
        pool="threads",
        concurrency=64,
        queues=[QUEUE],
        loglevel="WARNING",
        without_mingle=True,
        without_gossip=True,
        quiet=True,
    )
    worker.start()


if __name__ == "__main__":
    role, *arguments = sys.argv[1:]
    if role == "gateway":
        run_gateway(int(arguments[0]), arguments[1])
    elif role == "bare-worker":
        run_bare_worker(*arguments)
    else:
        run_worker(*arguments)
