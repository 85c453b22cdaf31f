"""The Bot API sessions: aiogram's aiohttp session with calls sent as one JSON body, and the same with the
HTTP done by a worker process.

aiogram builds a form for every call, field by field, JSON-encoding each nested object on its own; the Bot
API takes the same call as a JSON body, which is one `json_dumps` of the whole call. At a thousand broadcast
messages a second the form was a tenth of the bot's CPU time (bench/broadcast.py). Calls that upload a
file still go as multipart, through aiogram's own code.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import subprocess
import sys
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout

from bot.telegram.wire import JSON_HEADERS, READY, Answer, Frames, Outcome, RequestNotSent, encode_request

log = logging.getLogger("guardbot.transport")

TIMEOUT = "Request timeout error"
"""aiogram's own words for a call that got no answer in time."""


class JsonSession(AiohttpSession):
    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        payload: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False, exclude_none=True).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                payload[key] = prepared
        if files:
            return await super().make_request(bot, method, timeout)
        status, content = await self.post(
            method,
            self.api.api_url(token=bot.token, method=method.__api_method__),
            self.json_dumps(payload).encode(),
            self.timeout if timeout is None else timeout,
        )
        response = self.check_response(bot=bot, method=method, status_code=status, content=content)
        return cast(TelegramType, response.result)

    async def post(
        self,
        method: TelegramMethod[TelegramType],
        url: str,
        body: bytes,
        timeout: float,  # noqa: ASYNC109 - the call's own, as aiogram's
    ) -> tuple[int, str]:
        """Send a call's JSON body; Telegram's status and answer."""
        session = await self.create_session()
        try:
            async with session.post(
                url, data=body, headers=JSON_HEADERS, timeout=ClientTimeout(total=timeout)
            ) as resp:
                return resp.status, await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message=TIMEOUT) from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e


class WorkerSession(JsonSession):
    """A `JsonSession` whose HTTP is done by the HTTP worker process (`bot.telegram.http_worker`), which
    is started on the first call and again after it stops.

    Failures keep their meaning for the broadcast engine: a call the worker could not get out raises with
    `RequestNotSent` as its cause (safe to send again, see `wire.never_sent`); a worker that stops with
    calls in flight fails them as network errors whose outcome is unknown."""

    START_AGAIN_AFTER = 5.0
    """Seconds after a failed start during which calls fail at once (as not sent) instead of each trying."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._worker: HttpWorker | None = None
        self._starting = asyncio.Lock()
        self._start_again_at = 0.0

    async def worker_started(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """A request middleware, just outside the pacer: calls wait here while the worker starts (half a
        second or so). In the pacer, they would take their slots meanwhile and, once it is up, all reach
        Telegram in one burst."""
        try:
            await self._running_worker()
        except RequestNotSent as e:
            raise TelegramNetworkError(method=method, message=str(e)) from e
        return await make_request(bot, method)

    async def post(
        self,
        method: TelegramMethod[TelegramType],
        url: str,
        body: bytes,
        timeout: float,  # noqa: ASYNC109 - the call's own, as aiogram's
    ) -> tuple[int, str]:
        try:
            worker = await self._running_worker()
            answer = await worker.call(url, body, timeout)
        except (RequestNotSent, WorkerStopped) as e:
            raise TelegramNetworkError(method=method, message=str(e)) from e
        if answer.outcome is Outcome.ANSWERED:
            return answer.status, answer.body.decode(errors="replace")  # a proxy's error page, say
        if answer.outcome is Outcome.TIMED_OUT:
            raise TelegramNetworkError(method=method, message=TIMEOUT)
        error = answer.body.decode(errors="replace")
        if answer.outcome is Outcome.NOT_SENT:
            raise TelegramNetworkError(method=method, message=error) from RequestNotSent(error)
        raise TelegramNetworkError(method=method, message=error)

    async def _running_worker(self) -> HttpWorker:
        if self._worker is not None and self._worker.running:
            return self._worker
        async with self._starting:  # calls waiting meanwhile share this one start, or its failure
            if self._worker is not None and self._worker.running:
                return self._worker
            now = asyncio.get_running_loop().time()
            if now < self._start_again_at:
                raise RequestNotSent("the HTTP worker could not start; trying again shortly")
            if self._worker is not None:  # dead, or given up on: make sure it is gone
                self._worker.abandon()
            try:
                self._worker = await HttpWorker.start()
            except RequestNotSent:
                self._worker = None
                self._start_again_at = now + self.START_AGAIN_AFTER
                raise
            return self._worker

    async def close(self) -> None:
        await super().close()
        async with self._starting:  # a start under way finishes first, then is stopped too
            if self._worker is not None:
                await self._worker.stop()
                self._worker = None


class WorkerStopped(ConnectionError):
    """The HTTP worker stopped (or stopped answering) with the call in flight: it may have been sent."""


class HttpWorker(asyncio.SubprocessProtocol):
    """The bot's end of the HTTP worker: requests go down its stdin, answers come up its stdout."""

    GRACE = 5.0
    """Seconds past a call's own timeout before the worker counts as stuck and is stopped."""
    START_WITHIN = 30.0
    """Seconds a new worker has to say it is ready (it imports aiohttp: half a second on a quiet machine)."""
    STOP_WITHIN = 5.0
    """Seconds a closing worker has to finish; then it is killed."""

    def __init__(self) -> None:
        self._frames = Frames()
        self._waiting: dict[int, asyncio.Future[Answer]] = {}
        self._ids = itertools.count(READY + 1)
        self._process: asyncio.SubprocessTransport | None = None
        self._requests: asyncio.WriteTransport | None = None
        self._ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        """True once the worker reads requests; False if it exited first."""
        self._gone = asyncio.Event()
        self.running = False

    @classmethod
    async def start(cls) -> HttpWorker:
        command = (sys.executable, "-m", "bot.telegram.http_worker")
        try:
            _, worker = await asyncio.get_running_loop().subprocess_exec(
                cls, *command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
            )
        except OSError as e:
            log.error("http_worker.start_failed", extra={"error": type(e).__name__})
            raise RequestNotSent("the HTTP worker could not start") from e
        try:
            ready = await asyncio.wait_for(worker._ready, cls.START_WITHIN)
        except TimeoutError:
            ready = False
        except BaseException:  # the caller was cancelled: leave no process behind
            worker.abandon()
            raise
        if not ready:
            log.error("http_worker.start_failed", extra={"within": cls.START_WITHIN})
            await worker.stop()
            raise RequestNotSent("the HTTP worker did not start")
        log.info("http_worker.started", extra={"pid": worker.pid})
        return worker

    @property
    def pid(self) -> int | None:
        return self._process.get_pid() if self._process else None

    @property
    def returncode(self) -> int | None:
        return self._process.get_returncode() if self._process else None

    @property
    def in_flight(self) -> int:
        return len(self._waiting)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._process = cast(asyncio.SubprocessTransport, transport)
        self._requests = cast(asyncio.WriteTransport, self._process.get_pipe_transport(0))

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        for answer in self._frames.answers(data):
            if answer.id == READY and not self._ready.done():
                self.running = True
                self._ready.set_result(True)
            waiter = self._waiting.pop(answer.id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(answer)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:  # no more answers: whatever is in flight is lost
            self._lost()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()
        self._gone.set()

    def _lost(self) -> None:
        self.running = False
        if not self._ready.done():
            self._ready.set_result(False)
        if self._waiting:
            log.error(
                "http_worker.lost_calls", extra={"calls": len(self._waiting), "returncode": self.returncode}
            )
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(WorkerStopped("the HTTP worker stopped with the call in flight"))
        self._waiting.clear()

    async def call(self, url: str, body: bytes, timeout: float) -> Answer:  # noqa: ASYNC109
        if not self.running or self._requests is None or self._requests.is_closing():
            raise RequestNotSent("the HTTP worker is not running")
        request_id = next(self._ids)
        waiter = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        self._requests.write(encode_request(request_id, url, timeout, body))
        try:
            return await asyncio.wait_for(waiter, timeout + self.GRACE)
        except TimeoutError:
            log.error("http_worker.stuck", extra={"seconds": timeout + self.GRACE})
            self._kill()
            raise WorkerStopped("the HTTP worker stopped answering") from None
        finally:
            self._waiting.pop(request_id, None)

    async def stop(self) -> None:
        """Close its stdin: it finishes the calls in flight and exits; kill it if it takes too long."""
        if self._process is None:
            return
        if self._requests is not None:
            self._requests.close()
        try:
            await asyncio.wait_for(self._gone.wait(), self.STOP_WITHIN)
        except TimeoutError:
            log.error("http_worker.stop_timeout", extra={"seconds": self.STOP_WITHIN})
            self._kill()
            await self._gone.wait()
        self._process.close()

    def _kill(self) -> None:
        self.running = False
        if self._process is not None and self._process.get_returncode() is None:
            self._process.kill()

    def abandon(self) -> None:
        """Kill it if it still runs, without waiting: it was replaced or its start was given up."""
        self._kill()
        if self._process is not None:
            self._process.close()
