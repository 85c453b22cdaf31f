"""The secure form pages over real HTTP: headers, CSRF, validation, one-time use, the same page for every dead
link, Telegram Mini App initData, rate limits and the body cap — against the real app and its SQLite file.

The form server is started here around `create_web_app(..., forms=FormSite(...))` on a port of its own (the
bot's own web server does not mount the forms yet; see bot/forms/pages.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from bot.app import Guardbot, create_guardbot
from bot.emulator import BotApiEmulator
from bot.forms import FormSite, Rate, RateLimits, derive_form_key
from bot.services.secure_links import SecureLinks, token_hash
from bot.storage import SecureLinkRow
from bot.web import create_web_app
from tests.helpers import TEST_TOKEN, MovableClock, logged_entries, make_settings

CUSTOMER = 7101
OTHER = 7102
CARD = "4111 1111 1111 1111"
CARD_DIGITS = CARD.replace(" ", "")
VALID = {"holder": "Ann Example", "card_number": CARD, "expiry": "12/39", "cvv": "123"}
SECURITY_HEADERS = ("Content-Security-Policy", "Cache-Control", "Referrer-Policy", "X-Frame-Options")


def links_of(app: Guardbot) -> SecureLinks:
    links = getattr(app, "secure_links", None)
    if isinstance(links, SecureLinks):
        return links
    return SecureLinks(
        app.repository,
        app.audit,
        app.clock,
        app.catalog.forms,
        master_key=app.keys.data_key,
        base_url=app.settings.public_base_url,
    )


@dataclass
class Forms:
    """A running form server for `app`, and what its `on_submitted` hook saw."""

    app: Guardbot
    links: SecureLinks
    base_url: str
    submitted: list[SecureLinkRow] = field(default_factory=list)

    async def issue(self, user_id: int = CUSTOMER, form: str = "payment_card") -> str:
        """A fresh link's URL on this server (the token is all that matters; the base is ours)."""
        issued = await self.links.issue(user_id, form)
        return f"{self.base_url}/forms/{issued.token}"


@asynccontextmanager
async def serve_forms(
    app: Guardbot,
    *,
    limits: RateLimits | None = None,
    require_mini_app: bool = False,
    on_submitted: Any = None,
) -> AsyncIterator[Forms]:
    links = links_of(app)
    seen: list[SecureLinkRow] = []

    async def record(link: SecureLinkRow) -> None:
        seen.append(link)
        if on_submitted is not None:
            await on_submitted(link)

    site = FormSite(
        links,
        app.catalog,
        bot_token=TEST_TOKEN,
        on_submitted=record,
        clock=app.clock,
        secret=derive_form_key(app.keys.data_key),
        https=False,
        limits=limits or RateLimits(per_ip=Rate(10_000, 1000.0), per_link=Rate(10_000, 1000.0)),
        require_mini_app=require_mini_app,
    )

    async def health() -> dict[str, Any]:
        return {}

    runner = web.AppRunner(create_web_app(health, forms=site), access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    try:
        yield Forms(app, links, f"http://127.0.0.1:{port}", seen)
    finally:
        await runner.cleanup()


@pytest.fixture
async def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def app(tmp_path: Path, emulator: BotApiEmulator, clock: MovableClock) -> AsyncIterator[Guardbot]:
    guardbot = await create_guardbot(make_settings(tmp_path / "data", emulator.base_url), clock)
    try:
        yield guardbot
    finally:
        await guardbot.close()


@pytest.fixture
async def forms(app: Guardbot) -> AsyncIterator[Forms]:
    async with serve_forms(app) as running:
        yield running


def browser() -> aiohttp.ClientSession:
    """A client that keeps cookies like a browser (also for 127.0.0.1, which aiohttp refuses by default)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf" value="([0-9a-f]{64})"', page)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def open_form(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as response:
        assert response.status == 200
        return await response.text()


async def post(
    http: aiohttp.ClientSession, url: str, data: dict[str, str], headers: dict[str, str] | None = None
) -> tuple[int, str, Any]:
    async with http.post(url, data=data, headers=headers or {}) as response:
        return response.status, await response.text(), response.headers


def assert_secure_headers(headers: Any, *, https: bool = False) -> None:
    csp = headers["Content-Security-Policy"]
    for directive in (
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ):
        assert directive in csp, directive
    assert "http" not in csp  # no third-party origin allowed for anything
    assert "'unsafe-inline'" not in csp
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert ("Strict-Transport-Security" in headers) is https


def stored(app: Guardbot) -> list[tuple[Any, ...]]:
    with sqlite3.connect(app.settings.database_path) as conn:
        return conn.execute("SELECT user_id, form, fields, sealed FROM form_submissions").fetchall()


async def link_row(forms: Forms, url: str) -> SecureLinkRow:
    row = await forms.app.repository.secure_link(token_hash(url.rsplit("/", 1)[-1]))
    assert row is not None
    return row


def init_data(user_id: int, auth_date: float, *, token: str = TEST_TOKEN) -> str:
    """initData as Telegram builds it: HMAC-SHA256 over the sorted data-check-string, keyed with
    HMAC-SHA256("WebAppData", bot token)."""
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": user_id, "first_name": "Ann", "language_code": "en"}, separators=(",", ":")
        ),
        "auth_date": str(int(auth_date)),
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


# --- the page itself ----------------------------------------------------------------------------------------


async def test_the_form_is_accessible_works_without_javascript_and_is_locked_down(forms: Forms) -> None:
    url = await forms.issue()
    async with browser() as http, http.get(url) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert_secure_headers(response.headers)
        page = await response.text()
        cookie = response.cookies["guardbot-form"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert '<html lang="en">' in page
    assert "<title>Card details for your order – Secure form</title>" in page
    assert '<form method="post"' in page and "action=" not in page  # posts back to itself, no script needed
    for name, autocomplete in (
        ("holder", "cc-name"),
        ("card_number", "cc-number"),
        ("expiry", "cc-exp"),
        ("cvv", "cc-csc"),
    ):
        assert f'<label for="f-{name}">' in page
        tag = re.search(rf'<input id="f-{name}"[^>]*>', page)
        assert tag is not None
        assert f'autocomplete="{autocomplete}"' in tag.group(0)
        assert "required" in tag.group(0)
    number = re.search(r'<input id="f-card_number"[^>]*>', page)
    assert number is not None and 'inputmode="numeric"' in number.group(0)
    assert not re.search(r"""(src|href)=["']?https?:""", page)  # nothing from elsewhere
    assert "<script src" not in page
    row = await link_row(forms, url)
    assert row.opened_at is not None  # the first opening is recorded (and audited)


async def test_the_browser_language_picks_the_page_language(forms: Forms) -> None:
    url = await forms.issue(form="identity")
    async with (
        browser() as http,
        http.get(url, headers={"Accept-Language": "fr-FR, de-AT;q=0.9, en;q=0.5"}) as r,
    ):
        page = await r.text()
    assert '<html lang="de">' in page
    assert "Identitätsprüfung" in page and "Vollständiger Name" in page
    assert 'autocomplete="bday"' in page and 'autocomplete="street-address"' in page
    assert "<textarea" in page  # the address has room for several lines


async def test_every_response_under_forms_carries_the_headers(forms: Forms) -> None:
    url = await forms.issue()
    async with browser() as http:
        await open_form(http, url)
        status, _, headers = await post(http, url, {"holder": "x"})  # no CSRF field
        assert status == 403
        assert_secure_headers(headers)
        for method, path, expected in (
            ("GET", "/forms/" + secrets.token_urlsafe(24), 410),
            ("GET", "/forms/", 404),
            ("PUT", url.removeprefix(forms.base_url), 405),
        ):
            async with http.request(method, forms.base_url + path) as response:
                assert response.status == expected
                assert_secure_headers(response.headers)
                assert "text/html" in response.headers["Content-Type"]
        async with http.get(forms.base_url + "/healthz") as response:  # the rest of the app is untouched
            assert response.status == 200
            assert "Content-Security-Policy" not in response.headers


# --- CSRF ---------------------------------------------------------------------------------------------------


async def test_a_post_without_a_valid_csrf_pair_is_refused_and_nothing_is_stored(forms: Forms) -> None:
    url = await forms.issue()
    async with browser() as http:
        page = await open_form(http, url)
        good = csrf_of(page)
        altered = good[:-1] + ("1" if good.endswith("0") else "0")
        for data in ({**VALID}, {**VALID, "_csrf": "0" * 64}, {**VALID, "_csrf": altered}):
            status, body, _ = await post(http, url, data)
            assert status == 403
            assert "Please try again" in body
    async with aiohttp.ClientSession() as stranger:  # the right field, but not this browser's cookie
        status, _, _ = await post(stranger, url, {**VALID, "_csrf": good})
        assert status == 403
    other = await forms.issue(user_id=OTHER, form="payment_card")
    async with browser() as http:
        await open_form(http, other)
        page = await open_form(http, url)
        field_for_url = csrf_of(page)
        status, _, _ = await post(http, other, {**VALID, "_csrf": field_for_url})  # bound to its own link
        assert status == 403
    assert stored(forms.app) == []
    assert (await link_row(forms, url)).used_at is None
    assert forms.submitted == []


# --- validation, success, one time only ---------------------------------------------------------------------


async def test_invalid_answers_are_shown_next_to_their_fields_and_the_link_stays_open(forms: Forms) -> None:
    url = await forms.issue()
    async with browser() as http:
        page = await open_form(http, url)
        bad = {"_csrf": csrf_of(page), "holder": "Ann <b>Example</b>", "card_number": "4111 1111 1111 1112"}
        status, page, headers = await post(http, url, {**bad, "expiry": "13/30", "cvv": ""})
    assert status == 422
    assert_secure_headers(headers)
    assert 'role="alert"' in page and "Please check the fields marked below." in page
    card = re.search(r'<input id="f-card_number"[^>]*>', page)
    assert card is not None
    assert 'aria-invalid="true"' in card.group(0) and 'aria-describedby="e-card_number"' in card.group(0)
    assert '<p class="error" id="e-card_number">This does not look right.' in page
    assert '<p class="error" id="e-cvv">Please fill in this field.</p>' in page
    assert 'id="e-holder"' not in page
    assert "4111" not in page and "13/30" not in page  # card data is never written back
    assert 'value="Ann &lt;b&gt;Example&lt;/b&gt;"' in page  # the name is, escaped
    assert '<a href="#f-card_number">' in page
    assert (await link_row(forms, url)).used_at is None
    assert stored(forms.app) == []


async def test_a_valid_submission_is_sealed_consumes_the_link_and_works_once(
    forms: Forms, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = await forms.issue()
    token = url.rsplit("/", 1)[-1]
    async with browser() as http:
        page = await open_form(http, url)
        status, page, headers = await post(http, url, {**VALID, "_csrf": csrf_of(page)})
        assert status == 200, page
        assert_secure_headers(headers)
        assert "Thank you, received" in page
        assert [link.user_id for link in forms.submitted] == [CUSTOMER]
        assert (await link_row(forms, url)).used_at is not None

        # The same browser, again: refused, and (only it) is told the form already arrived.
        status, page, _ = await post(http, url, {**VALID, "_csrf": "0" * 64})
        assert status == 410 and "You have already sent this form" in page
        async with http.get(url) as response:
            assert response.status == 410
            assert "You have already sent this form" in await response.text()
    async with browser() as stranger, stranger.get(url) as response:
        assert response.status == 410
        assert "This link is no longer valid" in await response.text()
    assert len(forms.submitted) == 1

    rows = stored(forms.app)
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (CUSTOMER, "payment_card", '["card_number", "expiry", "holder"]')
    ]
    sealed = rows[0][3]
    assert CARD_DIGITS.encode() not in sealed and b"Ann Example" not in sealed
    data_dir = forms.app.settings.data_dir
    for path in data_dir.glob("*.db*"):  # databases, WAL files and all
        raw = path.read_bytes()
        assert CARD_DIGITS.encode() not in raw, path.name
        assert CARD.encode() not in raw, path.name
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert token not in logged and CARD_DIGITS not in logged and "Ann Example" not in logged


# --- dead links all look the same ---------------------------------------------------------------------------


async def test_unknown_forged_expired_revoked_and_used_links_get_one_identical_page(
    forms: Forms, clock: MovableClock
) -> None:
    used = await forms.issue(user_id=OTHER)
    async with browser() as http:
        page = await open_form(http, used)
        assert (await post(http, used, {**VALID, "_csrf": csrf_of(page)}))[0] == 200
    revoked = await forms.issue(form="bank_account")
    await forms.issue(form="bank_account")  # a new link to the same form revokes the older one
    expiring = await forms.issue()
    forged = f"{forms.base_url}/forms/{secrets.token_urlsafe(24)}"
    malformed = f"{forms.base_url}/forms/not-a-token"
    answers: dict[str, tuple[int, str]] = {}
    clock.offset = forms.links.ttl + 1
    async with browser() as http:  # a fresh browser: nothing of the sender's session
        for name, url in (
            ("used", used),
            ("revoked", revoked),
            ("expired", expiring),
            ("forged", forged),
            ("malformed", malformed),
        ):
            async with http.get(url) as response:
                answers[name] = (response.status, await response.text())
            status, body, _ = await post(http, url, {**VALID, "_csrf": "0" * 64})
            assert (status, body) == answers[name]
    assert len(set(answers.values())) == 1
    status, body = answers["forged"]
    assert status == 410 and "This link is no longer valid" in body
    # What each real link really was is kept as evidence (forged and malformed tokens name no link).
    refused = [
        e["data"]["reason"]
        for e in logged_entries(forms.app.settings.audit_path)
        if e["type"] == "secure_link.refused"
    ]
    assert sorted(set(refused)) == ["expired", "revoked", "used"]


# --- the Telegram Mini App ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("why", "build"),
    [
        ("user", lambda now: init_data(OTHER, now)),
        ("stale", lambda now: init_data(CUSTOMER, now - 15 * 60 - 120)),
        ("future", lambda now: init_data(CUSTOMER, now + 3600)),
        (
            "signature",
            lambda now: init_data(CUSTOMER, now, token="654321:OTHER-token-x"),
        ),
        ("signature", lambda now: init_data(CUSTOMER, now).replace("Ann", "Bob")),
        ("signature", lambda now: "hello"),
    ],
)
async def test_mini_app_init_data_that_does_not_vouch_for_the_customer_is_refused(
    forms: Forms, clock: MovableClock, why: str, build: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url = await forms.issue()
    async with browser() as http:
        page = await open_form(http, url)
        status, body, headers = await post(
            http, url, {**VALID, "_csrf": csrf_of(page), "_tg_init_data": build(clock.now())}
        )
    assert status == 403
    assert [r.__dict__.get("why") for r in caplog.records if r.msg == "form.mini_app_refused"] == [why]
    assert "This link belongs to another Telegram account" in body
    assert_secure_headers(headers)
    assert stored(forms.app) == []
    assert (await link_row(forms, url)).used_at is None


async def test_mini_app_init_data_for_the_right_customer_is_accepted(
    forms: Forms, clock: MovableClock
) -> None:
    by_field, by_header = await forms.issue(), await forms.issue(form="bank_account")
    async with browser() as http:
        page = await open_form(http, by_field)
        data = {**VALID, "_csrf": csrf_of(page), "_tg_init_data": init_data(CUSTOMER, clock.now() - 60)}
        assert (await post(http, by_field, data))[0] == 200
        page = await open_form(http, by_header)
        data = {"holder": "Ann Example", "iban": "DE89 3704 0044 0532 0130 00", "_csrf": csrf_of(page)}
        status, _, _ = await post(
            http, by_header, data, {"X-Telegram-Init-Data": init_data(CUSTOMER, clock.now())}
        )
        assert status == 200
    assert [r[1] for r in stored(forms.app)] == ["payment_card", "bank_account"]


async def test_the_mini_app_can_be_required(app: Guardbot, clock: MovableClock) -> None:
    async with serve_forms(app, require_mini_app=True) as forms:
        url = await forms.issue()
        async with browser() as http:
            page = await open_form(http, url)
            assert (await post(http, url, {**VALID, "_csrf": csrf_of(page)}))[0] == 403
            page = await open_form(http, url)
            data = {**VALID, "_csrf": csrf_of(page), "_tg_init_data": init_data(CUSTOMER, clock.now())}
            assert (await post(http, url, data))[0] == 200


# --- abuse --------------------------------------------------------------------------------------------------


async def test_requests_are_rate_limited_per_link_and_per_address(app: Guardbot) -> None:
    limits = RateLimits(per_ip=Rate(8, 0.001), per_link=Rate(3, 0.001))
    async with serve_forms(app, limits=limits) as forms:
        url = await forms.issue()
        async with browser() as http:
            statuses = []
            for _ in range(4):
                async with http.get(url) as response:
                    statuses.append(response.status)
                    last = response
            assert statuses == [200, 200, 200, 429]
            assert_secure_headers(last.headers)
            assert int(last.headers["Retry-After"]) >= 1
            probes = []
            for _ in range(6):  # guessing tokens: each guess is a new link, but the address runs dry
                async with http.get(f"{forms.base_url}/forms/{secrets.token_urlsafe(24)}") as response:
                    probes.append(response.status)
                    if response.status == 429:
                        assert "Too many attempts" in await response.text()
            assert probes == [410] * 4 + [429] * 2
        assert stored(app) == []


async def test_an_oversized_or_malformed_body_is_refused_before_anything_else(forms: Forms) -> None:
    url = await forms.issue()
    async with browser() as http:
        page = await open_form(http, url)
        status, _, headers = await post(http, url, {**VALID, "_csrf": csrf_of(page), "holder": "A" * 20_000})
        assert status == 413
        assert_secure_headers(headers)
        async with http.post(
            url, data=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
        ) as r:
            assert r.status == 400
        async with http.post(url, json=VALID) as r:
            assert r.status == 400
    assert stored(forms.app) == []
    assert (await link_row(forms, url)).used_at is None
