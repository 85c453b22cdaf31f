"""Secure links in the chat: an agent sends one, it is bound to the customer, stored only as a hash, never
logged in clear, single use, replaced by a newer one, revoked by /forget; a submission is sealed, the link
message deleted and the customer told. (The form pages themselves: test_forms_http.py / _browser.py.)"""

from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

from bot.app import Guardbot
from bot.emulator import BotApiEmulator, ChatMessage
from bot.services.secure_links import LinkStatus
from config import Settings
from tests.helpers import AGENT_ID, DAY, MovableClock, logged_entries, onboard

CARD = "4111 1111 1111 1111"


def link_of(message: ChatMessage) -> str:
    """The form URL behind the message's button (a plain URL button: the test forms are not https)."""
    assert message.reply_markup is not None
    button = message.reply_markup["inline_keyboard"][0][0]
    return str(button["url"])


def token_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[-1]


async def test_an_agent_sends_a_secure_link_and_a_submission_closes_it(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    agent = emulator.user(AGENT_ID, first_name="Ali")
    ivy = emulator.user(6101, first_name="Ivy")
    await onboard(ivy)
    agent.send("/secure")
    assert ((await agent.wait_for_bot_message()).text or "").startswith("Usage: /secure FORM USER_ID")
    agent.send("/secure payment_card 6199")  # someone who never accepted the notice
    assert ((await agent.wait_for_bot_message()).text or "").startswith("6199 has not accepted")
    agent.send(f"/secure payment_card {ivy.id}")
    assert (await agent.wait_for_bot_message()).text == f"Sent a secure payment_card link to {ivy.id}."

    message = await ivy.wait_for_bot_message()
    assert (message.text or "").startswith("Please use this secure form: Card details for your order.")
    assert message.protect_content
    url = link_of(message)
    token = token_of(url)
    assert url.startswith(settings.public_base_url + "/forms/")
    assert len(token) >= 32  # 192 random bits, URL-safe

    # Stored only as a hash; never in the log, not even encrypted.
    assert token.encode() not in settings.database_path.read_bytes()
    calls = [e for e in logged_entries(settings.audit_path) if e["type"] == "out.call"]
    keys = [r["key"] for e in calls for r in e["data"]["renderings"]]
    assert "secure_link:payment_card" in keys
    sent = next(
        e for e in calls if any(r["key"] == "secure_link:payment_card" for r in e["data"]["renderings"])
    )
    texts = await guardbot.audit.read(ivy.id, sent["seq"])
    assert texts is not None
    assert "[secure_link:payment_card]" in texts["texts"]
    assert not any(token in text for text in texts["texts"])

    # Invalid answers do not consume the link; valid ones do, once.
    bad = await guardbot.secure_links.submit(
        token, {"holder": "Ivy Lee", "card_number": "4111 1111 1111 1112"}
    )
    assert bad.status is LinkStatus.OPEN
    assert set(bad.problems) == {"card_number", "expiry", "cvv"}
    good = await guardbot.secure_links.submit(
        token, {"holder": "Ivy Lee", "card_number": CARD, "expiry": "12/39", "cvv": "123"}
    )
    assert good.status is LinkStatus.OPEN
    assert good.link is not None
    await guardbot.secure_messages.on_submitted(good.link)
    received = await ivy.wait_for_bot_message()
    assert (received.text or "").startswith("Thank you, we received the secure form")
    await emulator.wait_for(lambda: ivy.message(message.message_id).deleted)
    again = await guardbot.secure_links.submit(
        token, {"holder": "Ivy Lee", "card_number": CARD, "expiry": "12/39", "cvv": "123"}
    )
    assert again.status is LinkStatus.USED

    with sqlite3.connect(settings.database_path) as conn:
        rows = conn.execute(
            "SELECT fields, sealed FROM form_submissions WHERE user_id = ?", (ivy.id,)
        ).fetchall()
    assert [row[0] for row in rows] == ['["card_number", "expiry", "holder"]']  # the CVV is never kept
    raw = settings.database_path.read_bytes() + rows[0][1]
    assert b"4111" not in raw.replace(b"4111 1111", b"")  # no digits of the card anywhere
    assert b"123" not in rows[0][1]
    logged = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("secure_link.")]
    assert logged == ["secure_link.issued", "secure_link.invalid", "secure_link.submitted"]


async def test_links_expire_are_replaced_and_are_revoked_by_forget(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    from bot.app import create_guardbot
    from tests.helpers import running_bot

    clock = MovableClock()
    agent = emulator.user(AGENT_ID, first_name="Ali")
    jo = emulator.user(6201, first_name="Jo")
    async with running_bot(settings, app=await create_guardbot(settings, clock)) as app:
        await onboard(jo)
        tokens = []
        for _ in range(2):
            agent.send(f"/secure bank_account {jo.id}")
            await agent.wait_for_bot_message()
            tokens.append(token_of(link_of(await jo.wait_for_bot_message())))
        first, second = tokens
        assert (await app.secure_links.view(first)).status is LinkStatus.REVOKED  # replaced by the newer one
        assert (await app.secure_links.view(second)).status is LinkStatus.OPEN
        assert (await app.secure_links.view("forged-token")).status is LinkStatus.UNKNOWN

        clock.offset = settings.secure_link_minutes * 60 + 1
        assert (await app.secure_links.view(second)).status is LinkStatus.EXPIRED
        clock.offset = 0

        agent.send(f"/secure identity {jo.id}")
        await agent.wait_for_bot_message()
        third = token_of(link_of(await jo.wait_for_bot_message()))
        jo.send("/forget")
        ask = await jo.wait_for_bot_message(lambda m: (m.text or "").startswith("Erase your data?"))
        jo.press(ask.message_id, "Yes, erase my data")
        await jo.wait_for_bot_message(lambda m: (m.text or "").startswith("Your data has been erased."))
        assert (await app.secure_links.view(third)).status is LinkStatus.UNKNOWN  # gone with her data
        clock.offset = 31 * DAY
        assert await app.secure_links.purge() == 0


async def test_the_bots_own_web_server_serves_the_form(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    import aiohttp

    agent = emulator.user(AGENT_ID, first_name="Ali")
    kim = emulator.user(6301, first_name="Kim")
    await onboard(kim)
    agent.send(f"/secure identity {kim.id}")
    await agent.wait_for_bot_message()
    token = token_of(link_of(await kim.wait_for_bot_message()))
    assert guardbot.web_address is not None
    host, port = guardbot.web_address
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/forms/{token}") as page:
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-store"
        body = await page.text()
    assert "Identity check" in body
    assert 'autocomplete="bday"' in body
    logged = [e["type"] for e in logged_entries(settings.audit_path) if e["type"].startswith("secure_link.")]
    assert logged == ["secure_link.issued", "secure_link.opened"]


async def test_staff_see_submissions_only_masked_and_the_viewing_is_logged(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    from tests.helpers import COMPLIANCE_ID

    officer = emulator.user(COMPLIANCE_ID, first_name="Cora")
    agent = emulator.user(AGENT_ID, first_name="Ali")
    lia = emulator.user(6401, first_name="Lia")
    await onboard(lia)
    agent.send(f"/secure bank_account {lia.id}")
    await agent.wait_for_bot_message()
    token = token_of(link_of(await lia.wait_for_bot_message()))
    stored = await guardbot.secure_links.submit(
        token, {"holder": "Lia Berg", "iban": "DE89370400440532013000"}
    )
    assert stored.link is not None

    agent.send(f"/submissions {lia.id}")
    assert ((await agent.wait_for_bot_message()).text or "").startswith(
        "Sorry, this command is only for staff"
    )
    officer.send(f"/submissions {lia.id}")
    shown = await officer.wait_for_bot_message()
    assert (shown.text or "").startswith("bank_account, submitted ")
    assert "iban: •••• 3000" in (shown.text or "")
    assert "holder: L•••" in (shown.text or "")
    assert "0532" not in (shown.text or "") and "Berg" not in (shown.text or "")
    officer.send("/submissions 6499")
    assert (await officer.wait_for_bot_message()).text == "No secure-form submissions are stored for 6499."

    lia.send("/mydata")
    export = await lia.wait_for_bot_message(lambda m: m.document is not None)
    assert export.document is not None
    assert '"iban": "•••• 3000"'.encode() in export.document.data
    assert b"0532" not in export.document.data
    viewed = [e for e in logged_entries(settings.audit_path) if e["type"] == "form.submissions_viewed"]
    assert len(viewed) == 2  # the officer, then Lia's own export


async def test_submissions_stay_readable_after_a_master_key_rotation(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    from bot.app import create_guardbot
    from tests.helpers import guardbot_cli, running_bot

    mo = emulator.user(6501, first_name="Mo")
    async with running_bot(settings, app=await create_guardbot(settings)) as app:
        await onboard(mo)
        issued = await app.secure_links.issue(mo.id, "bank_account")
        stored = await app.secure_links.submit(
            issued.token, {"holder": "Mo Ray", "iban": "DE89370400440532013000"}
        )
        assert stored.link is not None
    rotated = guardbot_cli("keys", "rotate", "--data-only", data_dir=settings.data_dir)
    assert rotated.returncode == 0, rotated.stderr
    async with running_bot(settings) as app:
        shown = await app.secure_links.masked_submissions(mo.id, viewer="system")
        assert [values for _row, values in shown] == [{"holder": "M•••", "iban": "•••• 3000"}]
