from __future__ import annotations

import io
import json
import logging

from bot.content import Origin, RenderLedger
from bot.errors import GateRefused
from bot.logs import JsonFormatter, configure_logging
from tests.helpers import TEST_TOKEN


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


ORIGIN = Origin("text:x", "d", "en", "v1")


def test_renderings_are_single_use_and_bound_to_their_chat() -> None:
    ledger = RenderLedger(FakeClock())
    ledger.issue(1, "Hello", ORIGIN)
    assert ledger.redeem(2, ["Hello"]) is None
    assert ledger.redeem(1, ["Hello"]) == [ORIGIN]
    assert ledger.redeem(1, ["Hello"]) is None


def test_redeem_is_all_or_nothing() -> None:
    ledger = RenderLedger(FakeClock())
    ledger.issue(1, "text", ORIGIN)
    ledger.issue(1, "Yes", ORIGIN)
    assert ledger.redeem(1, ["text", "Yes", "Yes"]) is None  # only one "Yes" was issued
    assert ledger.redeem(1, ["text", "Yes"]) == [ORIGIN, ORIGIN]
    assert len(ledger) == 0


def test_renderings_expire() -> None:
    clock = FakeClock()
    ledger = RenderLedger(clock, ttl=10)
    ledger.issue(1, "old", ORIGIN)
    clock.t += 5
    ledger.issue(1, "old", ORIGIN)
    clock.t += 6  # the first expired, the second not yet
    assert ledger.redeem(1, ["old"]) == [ORIGIN]
    assert ledger.redeem(1, ["old"]) is None


def test_capacity_bounds_memory() -> None:
    ledger = RenderLedger(FakeClock(), capacity=100)
    for i in range(1000):
        ledger.issue(i, "x", ORIGIN)
    assert len(ledger) <= 101


def test_callback_owners() -> None:
    clock = FakeClock()
    ledger = RenderLedger(clock, ttl=10)
    ledger.note_callback("q1", 42)
    assert ledger.callback_owner("q1") == 42
    clock.t += 11
    ledger.note_callback("q2", 43)
    assert ledger.callback_owner("q1") is None


def format_record(logger: str, msg: str, *args: object, exc: BaseException | None = None) -> dict:
    record = logging.LogRecord(
        logger, logging.ERROR, __file__, 1, msg, args, (type(exc), exc, exc.__traceback__) if exc else None
    )
    return json.loads(JsonFormatter().format(record))


def test_log_lines_mask_tokens_and_drop_foreign_exception_messages() -> None:
    try:
        raise ValueError("customer wrote: my card is 4111 1111 1111 1111")
    except ValueError as exc:
        entry = format_record("aiogram", "Failed %s with %s", f"/bot{TEST_TOKEN}/getMe", exc, exc=exc)
    text = json.dumps(entry)
    assert TEST_TOKEN not in text
    assert "[token]" in text
    assert "4111" not in text
    assert entry["exception"]["type"] == "ValueError"
    assert entry["exception"]["stack"]


def test_our_own_errors_keep_their_safe_message() -> None:
    exc = GateRefused("sendMessage", 5, "text not rendered from the catalog for this chat")
    entry = format_record("guardbot", "refused", exc=exc)
    assert "not rendered" in entry["exception"]["message"]


def test_configure_logging_writes_json_lines_with_extra_fields() -> None:
    root, event_logger = logging.getLogger(), logging.getLogger("aiogram.event")
    saved = (root.handlers[:], root.level, event_logger.level)
    stream = io.StringIO()
    try:
        configure_logging(logging.INFO, stream)
        logging.getLogger("guardbot.test").info("thing.happened", extra={"user_id": 5})
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        event_logger.setLevel(saved[2])
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "thing.happened"
    assert line["user_id"] == 5
