"""Turning HTTP bodies into call parameters: request bodies in every format Telegram accepts,
and webhook replies (a bot may answer an update with a method call in the response body)."""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.emulator.errors import ApiError, bad_request
from bot.emulator.models import UploadedFile
from bot.emulator.params import Params

_FORM_TYPES = ("", "application/x-www-form-urlencoded", "multipart/form-data")
_ATTACH = "attach://"


async def read_request(request: web.Request) -> Params:
    """Query-string parameters overlaid by the body's (JSON, urlencoded or multipart)."""
    params: Params = {key: request.query[key] for key in request.query}
    if not request.can_read_body:
        return params
    try:
        if request.content_type == "application/json":
            params.update(_json_object(await request.read()))
        elif request.content_type in _FORM_TYPES:
            form = await request.post()
            for key, value in form.items():
                params[key] = await _form_value(value)
    except web.HTTPRequestEntityTooLarge as error:
        raise ApiError(413, "Request Entity Too Large") from error
    return resolve_attachments(params)


async def _form_value(value: Any) -> Any:
    if isinstance(value, web.FileField):
        data = await asyncio.to_thread(value.file.read)
        return UploadedFile(value.filename, value.content_type, data)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value


def _json_object(raw: bytes) -> Params:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise bad_request("can't parse JSON object") from error
    if not isinstance(data, dict):
        raise bad_request("can't parse JSON object")
    return data


def resolve_attachments(params: Params) -> Params:
    """Replace "attach://name" references with the uploaded part called `name`."""
    result = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith(_ATTACH):
            part = value.removeprefix(_ATTACH)
            upload = params.get(part)
            if isinstance(upload, UploadedFile):
                result[key] = upload
                result.pop(part, None)
    return result


def parse_webhook_reply(body: bytes, content_type: str) -> Params | None:
    """The method call a webhook answered with, or None if the reply carries none."""
    if not body.strip():
        return None
    try:
        if content_type.startswith("application/json"):
            params = _json_object(body)
        elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            params = _parse_form(body, content_type)
        else:
            return None
    except ApiError:
        return None
    if not isinstance(params.get("method"), str):
        return None
    return resolve_attachments(params)


def _parse_form(body: bytes, content_type: str) -> Params:
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode("utf-8", errors="replace")))
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
    params: Params = {}
    if not isinstance(message, EmailMessage):
        return params
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            params[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            params[name] = data.decode("utf-8", errors="replace")
    return params
