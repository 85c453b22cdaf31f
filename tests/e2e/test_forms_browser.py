"""The secure form in a real browser: headless Chromium (Debian's `chromium`, driven by Playwright with
`executable_path`; Playwright's own browser download is never used) against the real bot on the emulator.

A customer gets a link from an agent, opens it, sees the form, sends invalid data (errors next to the fields),
then valid data (success page; the chat gets the confirmation and loses the link message; the stored row is
ciphertext); opening the link again says "already sent" in that browser and "no longer valid" in any other.
The Mini App path runs the page's own script: initData in the URL fragment for another user is refused, for
the right user accepted. A screenshot of the form is kept (pytest's tmp_path, and $GUARDBOT_ARTIFACTS)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from bot.app import Guardbot
from bot.emulator import BotApiEmulator, ChatMessage
from config import Settings
from tests.e2e.test_forms_http import CARD, CARD_DIGITS, init_data, serve_forms
from tests.helpers import AGENT_ID, onboard

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.timeout(180)


def _unavailable(reason: str) -> None:
    """Outside CI a missing browser skips these tests; under CI it fails them (.ci/run installs it)."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI must run the browser tests: see .ci/run)")
    pytest.skip(reason)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        _unavailable("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def keep_artifact(path: Path) -> None:
    target = os.environ.get("GUARDBOT_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, Path(target) / path.name)


def form_path(message: ChatMessage) -> str:
    """The /forms/TOKEN path behind the link message's button (served here on our own port)."""
    assert message.reply_markup is not None
    button = message.reply_markup["inline_keyboard"][0][0]
    return urlsplit(str(button["url"])).path


async def secure_link(emulator: BotApiEmulator, customer_id: int, form: str) -> ChatMessage:
    agent = emulator.user(AGENT_ID, first_name="Ali")
    agent.send(f"/secure {form} {customer_id}")
    await agent.wait_for_bot_message()
    return await emulator.user(customer_id).wait_for_bot_message(lambda m: m.reply_markup is not None)


async def test_a_customer_fills_in_the_secure_form_in_chromium(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings, chromium: Any, tmp_path: Path
) -> None:
    ivy = emulator.user(6301, first_name="Ivy", language_code="en")
    await onboard(ivy)
    link_message = await secure_link(emulator, ivy.id, "payment_card")
    async with serve_forms(guardbot, on_submitted=guardbot.secure_messages.on_submitted) as forms:
        url = forms.base_url + form_path(link_message)
        context = await chromium.new_context(locale="en-US")
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text))

        response = await page.goto(url)
        assert response is not None and response.status == 200
        assert await page.title() == "Card details for your order – Secure form"
        await page.get_by_role("heading", name="Card details for your order").wait_for()
        # Labels are bound to their inputs: a screen reader (and Playwright) finds each field by its label.
        await page.get_by_label("Name on the card").fill("Ivy Lee")
        await page.get_by_label("Card number").fill("4111 1111 1111 1112")  # fails the Luhn check
        await page.get_by_label("Expiry (MM/YY)").fill("12/39")
        await page.get_by_label("Security code (CVV)").fill("123")
        # The stylesheet is inline and allowed by its hash alone: it must apply under the strict CSP.
        colour = await page.get_by_role("button", name="Send securely").evaluate(
            "b => getComputedStyle(b).backgroundColor"
        )
        assert colour == "rgb(26, 115, 232)"
        shot = tmp_path / "secure-form.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 1000
        keep_artifact(shot)

        await page.get_by_role("button", name="Send securely").click()
        await page.get_by_role("alert").wait_for()
        card = page.get_by_label("Card number")
        assert await card.get_attribute("aria-invalid") == "true"
        assert await page.locator("#e-card_number").inner_text() == (
            "This does not look right. Please check it and try again."
        )
        assert await card.input_value() == ""  # never written back into the page
        assert await page.get_by_label("Name on the card").input_value() == "Ivy Lee"
        errors_shot = tmp_path / "secure-form-errors.png"
        await page.screenshot(path=str(errors_shot), full_page=True)
        keep_artifact(errors_shot)
        assert not ivy.message(link_message.message_id).deleted  # the link is still open

        await card.fill(CARD)
        await page.get_by_label("Expiry (MM/YY)").fill("12/39")
        await page.get_by_label("Security code (CVV)").fill("123")
        await page.get_by_role("button", name="Send securely").click()
        await page.get_by_role("heading", name="Thank you, received").wait_for()

        received = await ivy.wait_for_bot_message(
            lambda m: (m.text or "").startswith("Thank you, we received")
        )
        assert received.text is not None
        await emulator.wait_for(lambda: ivy.message(link_message.message_id).deleted)

        with sqlite3.connect(settings.database_path) as conn:
            rows = conn.execute(
                "SELECT fields, sealed FROM form_submissions WHERE user_id = ?", (ivy.id,)
            ).fetchall()
        assert [fields for fields, _ in rows] == ['["card_number", "expiry", "holder"]']  # no CVV
        assert CARD_DIGITS.encode() not in rows[0][1] and b"Ivy Lee" not in rows[0][1]
        for path in settings.data_dir.glob("*.db*"):
            assert CARD_DIGITS.encode() not in path.read_bytes(), path.name

        again = await page.goto(url)  # the same browser opens the link again
        assert again is not None and again.status == 410
        assert "You have already sent this form" in await page.locator("main").inner_text()
        other = await chromium.new_context()
        elsewhere = await other.new_page()
        gone = await elsewhere.goto(url)
        assert gone is not None and gone.status == 410
        assert await elsewhere.get_by_role("heading").inner_text() == "This link is no longer valid"
        forged = await elsewhere.goto(forms.base_url + "/forms/" + "A" * 32)
        assert forged is not None and forged.status == 410
        assert await elsewhere.get_by_role("heading").inner_text() == "This link is no longer valid"
        await other.close()
        await context.close()
        assert not [p for p in problems if "Content Security Policy" in p], problems


async def test_the_mini_app_binds_the_form_to_the_customer(
    emulator: BotApiEmulator, guardbot: Guardbot, chromium: Any
) -> None:
    """Telegram opens a Mini App with initData in the URL fragment; the page's script passes it on."""
    kim = emulator.user(6302, first_name="Kim")
    await onboard(kim)
    link_message = await secure_link(emulator, kim.id, "bank_account")
    async with serve_forms(guardbot) as forms:
        url = forms.base_url + form_path(link_message)
        context = await chromium.new_context()
        page = await context.new_page()
        now = guardbot.clock.now()

        for fragment, heading in (
            (init_data(6399, now), "This page cannot be used here"),  # signed, but for someone else
            (init_data(kim.id, now - forms.links.ttl - 120), "This page cannot be used here"),  # stale
            (init_data(kim.id, now), "Thank you, received"),
        ):
            await page.goto("about:blank")  # else only the fragment changes: no new page load
            await page.goto(f"{url}#tgWebAppData={quote(fragment, safe='')}&tgWebAppVersion=8.0")
            assert await page.locator("#tg-init-data").input_value() == fragment  # the script ran under CSP
            await page.get_by_label("Account holder").fill("Kim Park")
            await page.get_by_label("IBAN").fill("DE89 3704 0044 0532 0130 00")
            await page.get_by_role("button", name="Send securely").click()
            await page.get_by_role("heading", name=heading).wait_for()
        assert [link.user_id for link in forms.submitted] == [kim.id]
        await context.close()
