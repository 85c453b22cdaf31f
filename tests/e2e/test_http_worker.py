"""The broadcast session's HTTP worker, a real process, against the emulator over HTTP: calls go through it,
its failures keep their meaning for the broadcast engine (never sent, or maybe sent), it is replaced when
it dies, and it stops with the session."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from typing import cast

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError

from bot.emulator import BotApiEmulator, Fault
from bot.telegram.transport import TIMEOUT, HttpWorker, WorkerSession
from bot.telegram.wire import READY, Frames, Outcome, encode_request, never_sent
from tests.helpers import TEST_TOKEN, alive


def worker_bot(api_base: str) -> Bot:
    return Bot(TEST_TOKEN, session=WorkerSession(api=TelegramAPIServer.from_base(api_base)))


def start_count(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a worker start is attempted (counted as they happen)."""
    attempts = [0]
    start = HttpWorker.start.__func__  # type: ignore[attr-defined]

    async def counted(cls: type[HttpWorker]) -> HttpWorker:
        attempts[0] += 1
        return cast(HttpWorker, await start(cls))

    monkeypatch.setattr(HttpWorker, "start", classmethod(counted))
    return attempts


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    bot = worker_bot(emulator.base_url)
    try:
        yield bot
    finally:
        await bot.session.close()


def worker_of(bot: Bot) -> HttpWorker:
    worker = getattr(bot.session, "_worker", None)
    assert isinstance(worker, HttpWorker), "no worker was started"
    return worker


async def test_calls_go_through_the_worker_which_stops_with_the_session(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    me = await bot.get_me()
    assert me.is_bot and emulator.calls_to("getMe")
    pid = worker_of(bot).pid
    assert pid is not None and pid != os.getpid() and alive(pid)
    assert (await bot.get_me()).id == me.id and worker_of(bot).pid == pid  # the same worker, kept

    worker = worker_of(bot)
    await bot.session.close()
    assert worker.returncode == 0  # it finished on its own once its stdin closed, not killed
    assert not alive(pid)


async def test_a_worker_that_dies_mid_call_leaves_it_uncertain_and_is_replaced(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    await bot.get_me()
    first = worker_of(bot)
    assert first.pid is not None
    emulator.inject_fault(Fault(method="getMe", delay=30))
    call = asyncio.ensure_future(bot.get_me())
    await emulator.wait_for(lambda: first.in_flight == 1, timeout=5)
    os.kill(first.pid, signal.SIGKILL)
    with pytest.raises(TelegramNetworkError) as failed:
        await asyncio.wait_for(call, timeout=10)
    assert not never_sent(failed.value)  # it may have reached Telegram: the engine counts it uncertain

    assert (await bot.get_me()).is_bot  # a new worker took over
    assert worker_of(bot).pid not in (None, first.pid)


async def test_a_call_nobody_answers_in_time_times_out_as_maybe_sent(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    emulator.inject_fault(Fault(method="getMe", delay=5))
    with pytest.raises(TelegramNetworkError) as failed:
        await bot.get_me(request_timeout=1)
    assert TIMEOUT in str(failed.value) and not never_sent(failed.value)
    assert (await bot.get_me()).is_bot  # the worker lives on


async def test_an_unreachable_bot_api_is_never_sent_and_the_token_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bot = worker_bot(f"http://127.0.0.1:{port}")
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(TelegramNetworkError) as failed:
            await bot.get_me()
    finally:
        await bot.session.close()
    assert never_sent(failed.value)  # safe to send again: the engine re-queues it
    secret = TEST_TOKEN.split(":")[1]
    assert secret not in str(failed.value) and secret not in repr(failed.value.__cause__)
    assert all(
        secret not in record.getMessage() and secret not in str(record.__dict__) for record in caplog.records
    )


async def test_a_worker_that_cannot_start_is_tried_once_for_all_waiting_calls(
    emulator: BotApiEmulator, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = start_count(monkeypatch)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    results = await asyncio.gather(*(bot.get_me() for _ in range(20)), return_exceptions=True)
    assert attempts == [1]  # not once per waiting call: each try can take half a minute
    assert all(isinstance(r, TelegramNetworkError) and never_sent(r) for r in results)  # re-queued, not lost
    assert not emulator.calls_to("getMe")


async def test_the_worker_writes_every_answer_before_it_exits_even_to_a_slow_reader(
    emulator: BotApiEmulator,
) -> None:
    calls = 3000  # ~300 KB of answers, for a pipe that holds 64 KB
    url = TelegramAPIServer.from_base(emulator.base_url).api_url(TEST_TOKEN, "getMe")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.telegram.http_worker", stdin=PIPE, stdout=PIPE
    )
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(b"".join(encode_request(i, url, 30.0, b"{}") for i in range(1, calls + 1)))
    await worker.stdin.drain()
    worker.stdin.close()  # as the bot does when it closes the session
    await emulator.wait_for(lambda: len(emulator.calls_to("getMe")) == calls, timeout=60)
    # Give it every chance to exit before anyone reads: it must not, with answers still to write.
    exited = asyncio.ensure_future(worker.wait())
    await asyncio.wait({exited}, timeout=3)
    out = await asyncio.wait_for(worker.stdout.read(), timeout=30)
    assert await exited == 0
    answers = Frames().answers(out)
    assert answers[0].id == READY
    assert sorted(answer.id for answer in answers[1:]) == list(range(1, calls + 1))
    assert {(answer.outcome, answer.status) for answer in answers[1:]} == {(Outcome.ANSWERED, 200)}
