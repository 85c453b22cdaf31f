"""The HTTP worker: a process that sends the broadcast session's Bot API calls for the bot.

At a thousand broadcast messages a second the bot's one thread was busy the whole time, and aiohttp's
client (connections, request writing, response parsing) was a third of it (bench/broadcast.py). This
process does that part on the other core. The bot still decides, paces and audits every call; what
arrives here is a URL and a JSON body ready to go, and what goes back is Telegram's status and body.

It reads requests from stdin and writes answers to stdout (`bot.telegram.wire`). When stdin closes (the
bot closed its session, or died), it finishes the calls in flight and exits: that is its only way out.
It ignores SIGINT and SIGTERM, which a terminal's Ctrl-C or a service manager send to the whole process
group, so that the bot, stopping in order, still has it for the calls it finishes.

    python -m bot.telegram.http_worker
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import sys
from typing import BinaryIO

import certifi
from aiohttp import ClientSession, ClientTimeout, TCPConnector

from bot.telegram.wire import JSON_HEADERS, READY, Frames, Outcome, Request, encode_answer, never_sent

CONNECTIONS = 100
"""At most this many connections to Telegram at once, as aiogram's own session (at 1000 calls a second
and a few milliseconds each, a handful are in use)."""


class _Stdin(asyncio.Protocol):
    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._frames = Frames()

    def data_received(self, data: bytes) -> None:
        for request in self._frames.requests(data):
            self._worker.start(request)

    def connection_lost(self, exc: Exception | None) -> None:
        self._worker.closed.set()


class _Answers(asyncio.Protocol):
    """The pipe back to the bot: closed only once every answer in its buffer is written."""

    def __init__(self) -> None:
        self.flushed = asyncio.Event()

    def connection_lost(self, exc: Exception | None) -> None:
        self.flushed.set()  # all written, or the bot is gone


class _Worker:
    def __init__(self, session: ClientSession, answers: asyncio.WriteTransport) -> None:
        self._session = session
        self._answers = answers
        self._calls: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()

    def start(self, request: Request) -> None:
        task = asyncio.get_running_loop().create_task(self._call(request))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, request: Request) -> None:
        try:
            async with self._session.post(
                request.url,
                data=request.body,
                headers=JSON_HEADERS,
                timeout=ClientTimeout(total=request.timeout),
            ) as response:
                body = await response.read()
            answer = encode_answer(request.id, Outcome.ANSWERED, response.status, body)
        except TimeoutError:
            answer = encode_answer(request.id, Outcome.TIMED_OUT, 0, b"")
        except Exception as exc:  # noqa: BLE001 - every call is answered; by name only, as messages can
            # quote the URL, and with it the token
            outcome = Outcome.NOT_SENT if never_sent(exc) else Outcome.FAILED
            answer = encode_answer(request.id, outcome, 0, type(exc).__name__.encode())
        if not self._answers.is_closing():
            self._answers.write(answer)

    async def drain(self) -> None:
        """Wait for the calls in flight (each has its timeout)."""
        while self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)


async def serve(to_bot: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    answers, pipe = await loop.connect_write_pipe(_Answers, to_bot)
    connector = TCPConnector(ssl=ssl.create_default_context(cafile=certifi.where()), limit=CONNECTIONS)
    async with ClientSession(connector=connector) as session:
        worker = _Worker(session, answers)
        await loop.connect_read_pipe(lambda: _Stdin(worker), sys.stdin.buffer)
        answers.write(encode_answer(READY, Outcome.ANSWERED, 0, b""))
        await worker.closed.wait()
        await worker.drain()
    answers.close()
    await pipe.flushed.wait()  # else the loop closes on answers still buffered, and the bot loses them


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    to_bot = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print goes to the log, not into the frames
    try:
        import uvloop
    except ImportError:  # Windows: the default loop
        asyncio.run(serve(to_bot))
    else:
        uvloop.run(serve(to_bot))


if __name__ == "__main__":
    main()
