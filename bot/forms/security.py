"""The defences of the form pages: headers, CSRF, Telegram Mini App `initData`, rate limits, body cap.

Each piece is small and pure enough to test alone; `bot.forms.pages` wires them together.

CSRF is a *signed double submit*: a random value in an HttpOnly, SameSite=Strict cookie (`__Host-` prefixed
over https, so a sibling subdomain cannot plant one), and in the form a hidden field holding
HMAC(server key, cookie value, link). A cross-site page can neither read the cookie nor compute the field;
binding the field to the link means a field copied from one form is useless on another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.clock import Clock

MAX_FORM_BYTES = 16 * 1024
"""A form of 12 fields of at most 500 characters, plus initData (about 1 KiB), fits with room to spare."""
MAX_FORM_FIELDS = 64
INIT_DATA_HEADER = "X-Telegram-Init-Data"
INIT_DATA_FIELD = "_tg_init_data"
CSRF_FIELD = "_csrf"
FUTURE_SKEW = 60.0
"""An `auth_date` this far ahead of our clock is still accepted (clocks drift); further is refused."""

_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def derive_form_key(master_key: bytes) -> bytes:
    """The forms' HMAC key (CSRF fields, "already sent" markers), derived from the master data key so that
    it survives restarts without another secret to manage, and reveals nothing about the master key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"guardbot secure forms v1").derive(
        master_key
    )


def csp_hash(source: str) -> str:
    """A CSP source expression allowing exactly this inline `<style>` or `<script>` body."""
    digest = base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()
    return f"'sha256-{digest}'"


def security_headers(headers: MutableMapping[str, str], *, style: str, script: str, https: bool) -> None:
    """Set the headers every form response carries (pages, errors, 404s and 429s alike)."""
    headers["Content-Security-Policy"] = (
        "default-src 'none'; "
        f"style-src {csp_hash(style)}; "
        f"script-src {csp_hash(script)}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    headers["Cache-Control"] = "no-store"
    headers["Pragma"] = "no-cache"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"


class CsrfGuard:
    """Signed double submit (see the module docstring), plus the "this browser sent that form" marker."""

    def __init__(self, key: bytes, *, https: bool) -> None:
        self._key = key
        self._https = https
        self.cookie_name = "__Host-guardbot-form" if https else "guardbot-form"
        self.done_cookie_name = "guardbot-sent"

    def cookie_of(self, request: web.Request) -> tuple[str, bool]:
        """The browser's CSRF cookie value, or a new one (and True: it must be set on the response)."""
        value = request.cookies.get(self.cookie_name, "")
        if _COOKIE_VALUE.fullmatch(value):
            return value, False
        return secrets.token_urlsafe(32), True

    def set_cookie(self, response: web.StreamResponse, value: str) -> None:
        # A session cookie: gone when the browser closes. Path / is required by the __Host- prefix.
        response.set_cookie(
            self.cookie_name, value, path="/", secure=self._https, httponly=True, samesite="Strict"
        )

    def field_for(self, cookie: str, link_hash: str) -> str:
        return self._mac(f"csrf\n{cookie}\n{link_hash}")

    def check(self, request: web.Request, field: str, link_hash: str) -> bool:
        cookie = request.cookies.get(self.cookie_name, "")
        if not _COOKIE_VALUE.fullmatch(cookie) or not field:
            return False
        return hmac.compare_digest(field.encode(), self.field_for(cookie, link_hash).encode())

    def mark_sent(self, response: web.StreamResponse, link_hash: str, token: str) -> None:
        """Let this browser (only) be told "already sent" when it opens the used link again. Lax, not
        Strict: reopening the link from the chat app is a cross-site navigation in some clients."""
        response.set_cookie(
            self.done_cookie_name,
            self._mac(f"sent\n{link_hash}"),
            path=f"/forms/{token}",
            max_age=86_400,
            secure=self._https,
            httponly=True,
            samesite="Lax",
        )

    def sent_here(self, request: web.Request, link_hash: str) -> bool:
        given = request.cookies.get(self.done_cookie_name, "")
        return bool(given) and hmac.compare_digest(given.encode(), self._mac(f"sent\n{link_hash}").encode())

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()


def check_init_data(
    bot_token: str, init_data: str, *, user_id: int, max_age: float, now: float
) -> str | None:
    """Why Telegram Mini App `initData` does not vouch for this user now, or None when it does.

    The signature is Telegram's HMAC (key HMAC("WebAppData", bot token)), checked by aiogram; the user must be
    the link's customer, and `auth_date` (when the Mini App was opened) no older than the link's lifetime.
    """
    try:
        data = safe_parse_webapp_init_data(bot_token, init_data)
    except ValueError:  # a bad signature, or fields that do not parse (pydantic's error is a ValueError)
        return "signature"
    if data.user is None or data.user.id != user_id:
        return "user"
    opened = data.auth_date.timestamp()
    if opened > now + FUTURE_SKEW:
        return "future"
    if now - opened > max_age:
        return "stale"
    return None


class FormTooLarge(Exception):
    """The request body is over `MAX_FORM_BYTES`."""


class FormUnreadable(Exception):
    """The request body is not an url-encoded form of UTF-8 text."""


async def read_form(request: web.Request, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The posted form fields (the first value of each name), read without ever holding more than `limit`
    bytes — the app's own `client_max_size` is sized for webhook updates, far larger than a form."""
    if request.content_length is not None and request.content_length > limit:
        raise FormTooLarge
    if request.content_type != "application/x-www-form-urlencoded":
        raise FormUnreadable
    body = bytearray()
    while chunk := await request.content.read(limit + 1 - len(body)):
        body += chunk
        if len(body) > limit:
            raise FormTooLarge
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormUnreadable from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


@dataclass(frozen=True)
class Rate:
    """A token bucket: `burst` requests at once, refilled at `per_second`."""

    burst: int
    per_second: float


@dataclass(frozen=True)
class RateLimits:
    per_ip: Rate = Rate(60, 1.0)
    """Any form request from one address (probing tokens included): 60 at once, then one a second."""
    per_link: Rate = Rate(20, 0.1)
    """Requests naming one token: 20 at once, then one every ten seconds."""
    tracked: int = 10_000
    """Buckets kept per kind; the least recently used are forgotten first (memory stays bounded)."""


class TokenBuckets:
    """In-memory token buckets keyed by an address or a token's hash. One process, one set of counters:
    several bot processes behind a balancer would each allow the full rate."""

    def __init__(self, rate: Rate, clock: Clock, tracked: int) -> None:
        self._rate = rate
        self._clock = clock
        self._tracked = tracked
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """0 when the request may go ahead (one token taken); otherwise the seconds until it could."""
        now = self._clock.now()
        tokens, then = self._buckets.pop(key, (float(self._rate.burst), now))
        tokens = min(float(self._rate.burst), tokens + max(0.0, now - then) * self._rate.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self._rate.per_second if self._rate.per_second > 0 else 3600.0
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._tracked:
            self._buckets.popitem(last=False)
        return wait


def remote_address(request: web.Request) -> str:
    """The client address as the socket sees it. Behind a reverse proxy every customer shares the proxy's
    address: pass a `client_ip` that reads the proxy's header instead (only if the proxy sets it)."""
    return request.remote or "?"
