"""The emulator at the HTTP level: every body format Telegram accepts, URL layout, and the exact
error envelopes client libraries rely on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.emulator import BotApiEmulator

Url = Callable[..., str]
MARKUP = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


async def send_json(
    http: aiohttp.ClientSession, url: str, payload: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    async with http.post(url, json=payload) as response:
        return response.status, await response.json()


async def test_json_body(emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url) -> None:
    emu.user(1001).send("hi")

    status, body = await send_json(
        http, url("sendMessage"), {"chat_id": 1001, "text": "json", "reply_markup": MARKUP}
    )

    assert status == 200
    assert body["ok"] is True
    assert body["result"]["reply_markup"] == MARKUP


async def test_urlencoded_body_with_json_fields_and_string_numbers(
    emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url
) -> None:
    emu.user(1001).send("hi")
    form = {
        "chat_id": "1001",
        "text": "form",
        "reply_markup": json.dumps(MARKUP),
        "protect_content": "true",
    }

    async with http.post(url("sendMessage"), data=form) as response:
        assert response.status == 200

    params = emu.calls_to("sendMessage")[-1].params
    assert params["chat_id"] == 1001
    assert params["protect_content"] is True
    assert params["reply_markup"] == MARKUP


async def test_multipart_body_with_a_file(emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url) -> None:
    alice = emu.user(1001)
    alice.send("hi")
    form = aiohttp.FormData()
    form.add_field("chat_id", "1001")
    form.add_field("caption", "report")
    form.add_field("document", b"a,b\n1,2\n", filename="report.csv", content_type="text/csv")

    async with http.post(url("sendDocument"), data=form) as response:
        body = await response.json()

    assert response.status == 200
    assert body["result"]["document"]["file_name"] == "report.csv"
    document = alice.bot_messages[-1].document
    assert document is not None
    assert document.data == b"a,b\n1,2\n"


async def test_query_string_parameters(emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url) -> None:
    emu.user(1001).send("hi")

    async with http.get(url("sendMessage"), params={"chat_id": "1001", "text": "q"}) as response:
        body = await response.json()

    assert response.status == 200
    assert body["result"]["text"] == "q"


async def test_method_names_are_case_insensitive(
    emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url
) -> None:
    async with http.get(url("GETME")) as response:
        assert response.status == 200
    assert emu.calls[-1].method == "getMe"


@pytest.mark.parametrize(
    ("path", "status", "description"),
    [
        ("/botnot-a-token/getMe", 401, "Unauthorized"),
        ("/bot123456:TEST/noSuchMethod", 404, "Not Found: method not found"),
        ("/file/bot123456:TEST/documents/file_1.pdf", 404, "Not Found"),
    ],
)
async def test_error_envelopes(
    emu: BotApiEmulator,
    http: aiohttp.ClientSession,
    path: str,
    status: int,
    description: str,
) -> None:
    async with http.post(emu.base_url + path) as response:
        body = await response.json()

    assert response.status == status
    assert body == {"ok": False, "error_code": status, "description": description}


async def test_bad_request_envelope(http: aiohttp.ClientSession, url: Url) -> None:
    status, body = await send_json(http, url("sendMessage"), {"chat_id": 5, "text": "x"})

    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}


async def test_push_raw_update_delivers_even_malformed_updates(
    emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url
) -> None:
    first = emu.push_raw_update({"message": {"text": "no chat, no date"}})
    second = emu.push_raw_update({"update_id": 500, "callback_query": {"id": "x"}})

    status, body = await send_json(http, url("getUpdates"), {})

    assert status == 200
    assert body["result"] == [
        {"update_id": first, "message": {"text": "no chat, no date"}},
        {"update_id": 500, "callback_query": {"id": "x"}},
    ]
    assert second == 500
    assert emu.push_raw_update({}) == 501  # ids continue after the highest seen


async def test_retry_after_envelope(emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url) -> None:
    from bot.emulator import Fault

    emu.inject_fault(Fault(method="getMe", status=429, retry_after=7))

    async with http.get(url("getMe")) as response:
        body = await response.json()

    assert response.status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }


async def test_invalid_json_body_is_a_bad_request(
    emu: BotApiEmulator, http: aiohttp.ClientSession, url: Url
) -> None:
    headers = {"Content-Type": "application/json"}
    async with http.post(url("getMe"), data=b"{not json", headers=headers) as response:
        body = await response.json()

    assert response.status == 400
    assert body["description"].startswith("Bad Request")
    assert emu.calls[-1].status == 400
