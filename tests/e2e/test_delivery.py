"""Delivery: order per sender, concurrency across senders, surviving failures, draining at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.types import Message, Update

from bot.app import Guardbot
from bot.delivery import UpdateFeeder
from bot.emulator import BotApiEmulator, Fault
from bot.runner import PollingStopped, serve
from bot.storage import SqliteRepository, open_database
from config import Settings
from tests.helpers import onboard, running_bot


async def test_one_senders_updates_are_answered_in_order_others_not_held_up(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    alice = emulator.user(6001, first_name="Alice")
    bob = emulator.user(6002, first_name="Bob")
    await asyncio.gather(onboard(alice), onboard(bob))
    onboarded = len(alice.bot_messages)
    emulator.inject_fault(Fault(method="sendMessage", chat_id=6001, delay=0.7, times=1))
    alice.send("/start")
    alice.send("/help")
    bob.send("/start")
    await bob.wait_for_bot_message()
    # Alice's greeting is still on its slow way; Bob was not held up.
    assert len(alice.bot_messages) == onboarded
    await emulator.wait_for(lambda: len(alice.bot_messages) == onboarded + 2)
    texts = [m.text or "" for m in alice.bot_messages[onboarded:]]
    assert texts[0].startswith("Hello, Alice!")
    assert texts[1].startswith("Here is what I can help with")


async def test_a_failed_claim_is_retried_not_lost(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    accept_batch = guardbot.feeder.accept_batch
    failures: list[int] = []

    async def flaky_accept(updates: Sequence[Update]) -> list[bool]:
        if not failures:
            failures.append(updates[0].update_id)
            raise OSError("database is locked")
        return await accept_batch(updates)

    carol = emulator.user(6003, first_name="Carol")
    await onboard(carol)
    onboarded = len(carol.bot_messages)
    guardbot.feeder.accept_batch = flaky_accept  # type: ignore[method-assign]
    carol.send("/start")
    reply = await carol.wait_for_bot_message(timeout=10)
    assert reply.text is not None and reply.text.startswith("Hello, Carol!")
    assert failures
    await emulator.wait_for(lambda: emulator.pending_updates == 0 and guardbot.feeder.in_flight == 0)
    assert len(carol.bot_messages) == onboarded + 1


async def test_serve_fails_loudly_when_polling_dies(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_run(self: Any, stop: asyncio.Event) -> None:
        raise RuntimeError("bug in the poller")

    monkeypatch.setattr("bot.runner.Poller.run", broken_run)
    from bot.app import create_guardbot

    app = await create_guardbot(settings)
    try:
        with pytest.raises(PollingStopped):
            await asyncio.wait_for(serve(app, asyncio.Event(), poll_timeout=1), timeout=15)
    finally:
        await app.close()


async def test_drain_waits_then_cancels_what_overruns(tmp_path: Path, emulator: BotApiEmulator) -> None:
    from tests.helpers import make_settings

    settings = make_settings(tmp_path / "d", emulator.base_url)
    async with running_bot(settings) as app:
        repository = SqliteRepository(await open_database(tmp_path / "feeder.db", now=1.0))
        released = asyncio.Event()
        finished: list[str] = []
        dispatcher = Dispatcher()

        @dispatcher.message()
        async def slow(message: Message) -> None:
            try:
                if message.text == "forever":
                    await asyncio.Event().wait()
                await released.wait()
                finished.append(message.text or "")
            except asyncio.CancelledError:
                finished.append(f"cancelled {message.text}")
                raise

        feeder = UpdateFeeder(dispatcher, app.bot, repository, app.audit, app.clock)

        def update(update_id: int, user_id: int, text: str) -> Update:
            return Update.model_validate(
                {
                    "update_id": update_id,
                    "message": {
                        "message_id": update_id,
                        "date": 1,
                        "chat": {"id": user_id, "type": "private"},
                        "from": {"id": user_id, "is_bot": False, "first_name": "X"},
                        "text": text,
                    },
                },
                context={"bot": app.bot},
            )

        assert await feeder.accept(update(1, 1, "quick"))
        assert await feeder.accept(update(2, 2, "forever"))
        assert not await feeder.accept(update(1, 1, "quick"))  # a redelivery
        asyncio.get_running_loop().call_later(0.05, released.set)
        assert await feeder.drain(timeout=1.0) == 1
        assert finished == ["quick", "cancelled forever"]
        await repository.close()
