"""The frames the bot and its HTTP worker exchange over the worker's stdin and stdout.

A request is a Bot API call already encoded as JSON, with its URL and timeout; an answer is Telegram's
status and body, or what went wrong without one. Only the names of exceptions cross the pipe, never their
messages, which can quote the URL and with it the bot's token.

This module imports nothing heavy: the worker process starts with it (see `bot.telegram.http_worker`).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientConnectionResetError, ClientConnectorError

JSON_HEADERS = {"Content-Type": "application/json"}
"""Every call goes as one JSON body, from the bot or from its worker."""

_REQUEST = struct.Struct("!QdII")
"""id, timeout in seconds, URL length, payload length (the URL, then the body)."""
_ANSWER = struct.Struct("!QBHI")
"""id, outcome, HTTP status, body length."""


class Outcome(enum.IntEnum):
    ANSWERED = 0
    """Telegram answered: the status and body follow."""
    NOT_SENT = 1
    """The request never left: no connection could be made, or writing it failed (see `never_sent`)."""
    TIMED_OUT = 2
    """No answer in time: Telegram may have acted on it."""
    FAILED = 3
    """Any other failure once the request was out (the body is the exception's name)."""


READY = 0
"""The id of the answer the worker writes once it reads requests: the bot sends nothing before it."""


class RequestNotSent(ConnectionError):
    """The HTTP worker could not get the request out (or could not be started): safe to send again."""


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    url: str
    timeout: float
    body: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    id: int
    outcome: Outcome
    status: int
    body: bytes


def encode_request(request_id: int, url: str, timeout: float, body: bytes) -> bytes:
    address = url.encode()
    return _REQUEST.pack(request_id, timeout, len(address), len(address) + len(body)) + address + body


def encode_answer(request_id: int, outcome: Outcome, status: int, body: bytes) -> bytes:
    return _ANSWER.pack(request_id, outcome, status, len(body)) + body


class Frames:
    """Cuts a byte stream into frames, whatever the chunks it arrives in."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def requests(self, data: bytes) -> list[Request]:
        return [
            Request(request_id, payload[:url_length].decode(), timeout, payload[url_length:])
            for (request_id, timeout, url_length, _), payload in self._frames(data, _REQUEST)
        ]

    def answers(self, data: bytes) -> list[Answer]:
        return [
            Answer(request_id, Outcome(outcome), status, payload)
            for (request_id, outcome, status, _), payload in self._frames(data, _ANSWER)
        ]

    def _frames(self, data: bytes, header: struct.Struct) -> Iterator[tuple[tuple[Any, ...], bytes]]:
        """Each complete frame: its header's fields and its payload, whose length the header ends with."""
        self._buffer += data
        at = 0
        try:
            while len(self._buffer) - at >= header.size:
                head = header.unpack_from(self._buffer, at)
                start = at + header.size
                end = start + head[-1]
                if len(self._buffer) < end:
                    break
                at = end  # consumed even if the caller cannot make sense of it
                yield head, bytes(self._buffer[start:end])
        finally:
            del self._buffer[:at]


def never_sent(exc: BaseException) -> bool:
    """Whether a network failure happened before the request was out: the connection could not be made,
    or writing the request failed (a pooled connection the server had closed). Anything later — a timeout,
    a reset while reading the answer — may have been after Telegram acted on it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientConnectorError | ClientConnectionResetError | RequestNotSent):
            return True
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return False
