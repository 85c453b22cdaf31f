"""The frames between the bot and its HTTP worker survive any chunking of the pipe."""

from __future__ import annotations

import pytest

from bot.telegram.wire import Answer, Frames, Outcome, Request, encode_answer, encode_request

REQUESTS = [
    Request(1, "http://127.0.0.1:8081/bot1:T/sendMessage", 60.0, b'{"chat_id":1,"text":"h\xc3\xa9"}'),
    Request(2, "http://127.0.0.1:8081/bot1:T/getMe", 2.5, b"{}"),
    Request(3, "http://127.0.0.1:8081/bot1:T/sendMessage", 60.0, b"x" * 70_000),
]
ANSWERS = [
    Answer(1, Outcome.ANSWERED, 200, b'{"ok":true,"result":{"message_id":7}}'),
    Answer(2, Outcome.NOT_SENT, 0, b"ClientConnectorError"),
    Answer(3, Outcome.TIMED_OUT, 0, b""),
]


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[at : at + size] for at in range(0, len(data), size)]


def test_requests_are_cut_whole_from_any_chunks() -> None:
    stream = b"".join(encode_request(r.id, r.url, r.timeout, r.body) for r in REQUESTS)
    for size in (1, 7, 4096, len(stream)):
        frames = Frames()
        assert [request for chunk in chunks(stream, size) for request in frames.requests(chunk)] == REQUESTS


def test_answers_are_cut_whole_from_any_chunks() -> None:
    stream = b"".join(encode_answer(a.id, a.outcome, a.status, a.body) for a in ANSWERS)
    for size in (1, 5, len(stream)):
        frames = Frames()
        assert [answer for chunk in chunks(stream, size) for answer in frames.answers(chunk)] == ANSWERS


def test_a_partial_frame_waits_for_the_rest() -> None:
    frame = encode_answer(9, Outcome.ANSWERED, 200, b'{"ok":true}')
    frames = Frames()
    assert frames.answers(frame[:-1]) == []
    assert frames.answers(frame[-1:]) == [Answer(9, Outcome.ANSWERED, 200, b'{"ok":true}')]


def test_a_frame_that_makes_no_sense_is_dropped_not_stuck_on() -> None:
    garbled = bytearray(encode_answer(4, Outcome.ANSWERED, 200, b"{}"))
    garbled[8] = 99  # no such outcome
    good = encode_answer(5, Outcome.ANSWERED, 200, b"{}")
    frames = Frames()
    with pytest.raises(ValueError, match="not a valid Outcome"):
        frames.answers(bytes(garbled) + good)
    assert frames.answers(b"") == [Answer(5, Outcome.ANSWERED, 200, b"{}")]
