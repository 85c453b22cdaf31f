"""The customer's data rights end to end: /mydata (Art. 15) returns what the database holds, /forget (Art. 17)
removes it, the audit log still verifies, and a returning customer starts afresh."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from bot.app import Guardbot, create_guardbot
from bot.emulator import BotApiEmulator, ChatMessage
from bot.services.privacy import PrivacyDesk, iso
from bot.storage.broadcasts import Outcome
from config import Settings
from flows.broadcasts import Exclusion, State
from tests.helpers import (
    ACCEPT,
    COMPLIANCE_ID,
    DAY,
    MARKETER_ID,
    MARKETING_YES,
    MovableClock,
    guardbot_cli,
    is_notice,
    logged_entries,
    make_settings,
    onboard,
    running_bot,
    subjects_by_user,
)

PHRASE = "my tangerine walrus ordered 3 lamps"


def starts(prefix: str):  # type: ignore[no-untyped-def]
    return lambda message: (message.text or message.caption or "").startswith(prefix)


def rows(db: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(query, args))


def files_of(settings: Settings) -> dict[str, bytes]:
    """Every database file of the deployment, with its WAL, as bytes (what `grep` would search)."""
    found = {}
    for path in sorted(settings.data_dir.iterdir()):
        if path.suffix in (".db", ".db-wal") or path.name.endswith(".db-wal"):
            found[path.name] = path.read_bytes()
    return found


async def request_export(user: Any) -> tuple[ChatMessage, dict[str, Any]]:
    user.send("/mydata")
    message = await user.wait_for_bot_message(lambda m: m.document is not None)
    assert message.document is not None
    return message, json.loads(message.document.data)


async def test_mydata_returns_what_the_database_holds(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings
) -> None:
    ann = emulator.user(4001, first_name="Ann", language_code="en")
    notice = await onboard(ann, marketing=True)
    ann.send(PHRASE)
    await ann.wait_for_bot_message()
    ann.send("STOP")
    await ann.wait_for_bot_message(starts("Done: you will receive no more offers"))
    ann.press(notice.message_id, MARKETING_YES)  # changed her mind
    await ann.wait_for_bot_message(starts("You will receive offers"))
    await guardbot.repository.set_customer_attributes(  # as `guardbot customers import` sets them
        ann.id, time_zone="Europe/Berlin", tags={"vip", "berlin"}, now=guardbot.clock.now()
    )

    message, export = await request_export(ann)
    assert message.protect_content
    assert message.caption is not None
    assert message.caption.startswith("Here is a copy of everything we store about you")
    assert message.document is not None
    assert message.document.filename == "my-data.json"

    (user_row,) = rows(
        settings.database_path,
        "SELECT user_id, language_code, time_zone, tags FROM users WHERE user_id = ?",
        ann.id,
    )
    assert export["profile"]["telegram_user_id"] == user_row[0]
    assert export["profile"]["language_code"] == user_row[1] == "en"
    assert export["profile"]["time_zone"] == user_row[2] == "Europe/Berlin"
    assert export["profile"]["tags"] == ["berlin", "vip"] and user_row[3] == ",berlin,vip,"
    ledger = rows(
        settings.database_path,
        "SELECT scope, action, notice_version, via, detail, message_id, audit_seq FROM consent_events "
        "WHERE user_id = ? ORDER BY id",
        ann.id,
    )
    history = export["consent"]["history"]
    assert [
        (
            h["scope"],
            h["action"],
            h["notice_version"],
            h["via"],
            h["detail"],
            h["message_id"],
            h["audit_entry"],
        )
        for h in history
    ] == ledger
    assert [(h["scope"], h["action"], h["via"]) for h in history] == [
        ("notice", "grant", "button"),
        ("marketing", "grant", "button"),
        ("marketing", "withdraw", "keyword"),
        ("marketing", "grant", "button"),
    ]
    assert export["consent"]["marketing"] == "granted"
    assert export["consent"]["notice_accepted"] is True

    # The same history is in the audit log (pseudonymous), entry for entry.
    entries = {e["seq"]: e for e in logged_entries(settings.audit_path)}
    subject = subjects_by_user(settings.keyring_path)[ann.id]
    for h in history:
        entry = entries[h["audit_entry"]]
        assert entry["subject"] == subject
        assert entry["type"] == ("consent.granted" if h["action"] == "grant" else "consent.withdrawn")
        assert entry["data"]["scope"] == h["scope"]

    # Her messages, decrypted, both ways.
    written = [m["content"].get("text") for m in export["messages"] if m["direction"] == "from_you"]
    assert PHRASE in written
    received = [t for m in export["messages"] if m["direction"] == "to_you" for t in m["content"]["texts"]]
    assert any(t.startswith("Hello, Ann!") for t in received)
    assert export["tickets"] == export["offers_sent"] == export["secure_form_submissions"] == []
    assert export["broadcasts"] == []

    # Rate-limited.
    ann.send("/mydata")
    too_soon = await ann.wait_for_bot_message()
    assert (too_soon.text or "").startswith("You asked for a copy of your data a short while ago.")
    assert sum(m.document is not None for m in ann.bot_messages) == 1


async def test_an_export_is_for_its_owner_only(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    bea, cal = emulator.user(4101, first_name="Bea"), emulator.user(4102, first_name="Cal")
    await onboard(bea)
    await onboard(cal)
    bea.send("bea's secret question about lamps")
    await bea.wait_for_bot_message()
    _, export = await request_export(cal)
    assert "lamps" not in json.dumps(export)
    assert export["profile"]["telegram_user_id"] == cal.id


async def test_forget_erases_the_customer_and_they_start_afresh(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    dot = emulator.user(4201, first_name="Dot")
    eve = emulator.user(4202, first_name="Eve")  # another customer, untouched
    async with running_bot(settings) as app:
        await onboard(dot, marketing=True)
        await onboard(eve)
        dot.send(PHRASE)
        await dot.wait_for_bot_message()
        eve.send("eve asks about opening hours")
        await eve.wait_for_bot_message()
        old_subject = subjects_by_user(settings.keyring_path)[dot.id]

        phrase_entry = next(
            e
            for e in reversed(logged_entries(settings.audit_path))
            if e["type"] == "in.update" and e["subject"] == old_subject and e["content"]
        )
        assert await app.audit.read(dot.id, phrase_entry["seq"]) == {"text": PHRASE}
        (blob,) = rows(settings.audit_path, "SELECT blob FROM contents WHERE seq = ?", phrase_entry["seq"])[0]
        assert blob in b"".join(files_of(settings).values())  # the ciphertext is there before...

        dot.send("/forget")
        ask = await dot.wait_for_bot_message(starts("Erase your data?"))
        assert ask.buttons == [["Yes, erase my data"], ["No, keep it"]]
        dot.press(ask.message_id, "No, keep it")
        await dot.wait_for_bot_message(starts("Nothing was erased."))
        await emulator.wait_for(lambda: dot.message(ask.message_id).buttons == [])  # one answer per question
        assert rows(
            settings.database_path, "SELECT count(*) FROM consent_events WHERE user_id = ?", dot.id
        ) == [(2,)]
        dot.press_data(ask.message_id, "forget:1:0")  # a forged, ancient confirmation
        await emulator.wait_for(lambda: len(dot.callback_answers) == 4)
        assert dot.callback_answers[-1].get("text", "").startswith("This button is no longer valid")
        assert rows(settings.database_path, "SELECT count(*) FROM users WHERE user_id = ?", dot.id) == [(1,)]

        dot.send("/forget")
        ask = await dot.wait_for_bot_message(starts("Erase your data?"))
        dot.press(ask.message_id, "Yes, erase my data")
        await dot.wait_for_bot_message(starts("Your data has been erased."))
        assert not await app.consent.may_market(dot.id)

        # Everything about Dot is gone from the operational database; Eve is untouched.
        assert rows(
            settings.database_path, "SELECT count(*) FROM consent_events WHERE user_id = ?", dot.id
        ) == [(0,)]
        assert rows(settings.database_path, "SELECT count(*) FROM users WHERE user_id = ?", dot.id) == [(0,)]
        assert rows(
            settings.database_path, "SELECT count(*) FROM consent_events WHERE user_id = ?", eve.id
        ) == [(1,)]
        # Her content is unreadable: her key is destroyed and her content rows deleted, in every file.
        assert blob not in b"".join(files_of(settings).values())  # ...and gone after
        assert rows(settings.audit_path, "SELECT count(*) FROM contents WHERE subject = ?", old_subject) == [
            (0,)
        ]
        assert old_subject not in subjects_by_user(settings.keyring_path).values()

        # Coming back, she is a new customer: the notice afresh, not "it has changed".
        dot.send("/start")
        notice = await dot.wait_for_bot_message()
        assert is_notice(notice)
        dot.press(notice.message_id, ACCEPT)
        await dot.wait_for_bot_message(starts("Hello, Dot"))
        assert rows(
            settings.database_path, "SELECT scope, action FROM consent_events WHERE user_id = ?", dot.id
        ) == [("notice", "grant")]
        assert subjects_by_user(settings.keyring_path)[dot.id] != old_subject

    logged = logged_entries(settings.audit_path)
    erasures = [e for e in logged if e["type"] == "subject.erased"]
    assert [e["subject"] for e in erasures] == [old_subject]
    assert any(e["type"] == "privacy.erasure" and e["subject"] == old_subject for e in logged)
    verified = guardbot_cli("audit", "verify", data_dir=settings.data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr


async def test_the_ledger_is_a_complete_history_in_mydata_and_in_the_audit_export(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    """Grant, withdraw, re-grant, a new notice version, re-acceptance: the same story in both places."""
    fay = emulator.user(4301, first_name="Fay")
    async with running_bot(settings):
        notice = await onboard(fay, marketing=True)
        fay.send("Unsubscribe")
        await fay.wait_for_bot_message(starts("Done: you will receive no more offers"))
        fay.press(notice.message_id, MARKETING_YES)
        await fay.wait_for_bot_message(starts("You will receive offers"))
        subject = subjects_by_user(settings.keyring_path)[fay.id]

    new_catalog = tmp_path / "catalog.toml"
    new_catalog.write_text(
        settings.content_path.read_text().replace('version = "2026-11"', 'version = "2027-01"', 1)
    )
    updated = make_settings(settings.data_dir, emulator.base_url, content_path=new_catalog)
    async with running_bot(updated):
        fay.send("hello")
        new_notice = await fay.wait_for_bot_message(is_notice)
        fay.press(new_notice.message_id, ACCEPT)
        await fay.wait_for_bot_message(starts("Hello, Fay"))
        _, export = await request_export(fay)

    story = [
        ("notice", "grant", "2026-11", "button"),
        ("marketing", "grant", "2026-11", "button"),
        ("marketing", "withdraw", "2026-11", "keyword"),
        ("marketing", "grant", "2026-11", "button"),
        ("notice", "grant", "2027-01", "button"),
    ]
    history = export["consent"]["history"]
    assert [(h["scope"], h["action"], h["notice_version"], h["via"]) for h in history] == story
    assert export["consent"]["marketing"] == "old_notice"  # the 2026-11 yes does not carry over

    out = tmp_path / "audit.jsonl"
    exported = guardbot_cli("audit", "export", "--out", str(out), data_dir=settings.data_dir)
    assert exported.returncode == 0, exported.stderr
    entries = [json.loads(line) for line in out.read_text().splitlines()[1:] if '"prev"' in line]
    consent = [e for e in entries if e["type"].startswith("consent.") and e["subject"] == subject]
    actions = {"consent.granted": "grant", "consent.withdrawn": "withdraw"}
    assert [
        (e["data"]["scope"], actions[e["type"]], e["data"]["notice_version"], e["data"]["via"])
        for e in consent
    ] == story
    assert [e["seq"] for e in consent] == [h["audit_entry"] for h in history]
    # Pseudonymous: no names, no Telegram ids. Ciphertexts and signatures (long base64 runs) are left out of
    # the search: 3 letters turn up in 60 KB of random base64 one run in ten.
    readable = re.sub(r"[A-Za-z0-9+/=]{40,}", "", out.read_text())
    assert "Fay" not in readable
    assert str(fay.id) not in "".join(json.dumps(e["data"]) for e in consent)


async def test_marketing_consent_expires_after_consent_max_age_days(
    emulator: BotApiEmulator, settings: Settings
) -> None:
    clock = MovableClock()
    short = make_settings(settings.data_dir, emulator.base_url, consent_max_age_days=30)
    gus = emulator.user(4401, first_name="Gus")
    async with running_bot(short, app=await create_guardbot(short, clock)) as app:
        await onboard(gus, marketing=True)
        assert await app.consent.may_market(gus.id)
        clock.offset = 31 * DAY
        assert not await app.consent.may_market(gus.id)
        gus.send("/privacy")
        status = await gus.wait_for_bot_message(starts("Your privacy choices:"))
        assert "your yes of " in (status.text or "") and "has expired" in (status.text or "")
        assert await app.consent.may_chat(gus.id)  # only marketing expires
        assert status.buttons[0] == [MARKETING_YES]
        gus.press(status.message_id, MARKETING_YES)
        await gus.wait_for_bot_message(starts("You will receive offers"))
        assert await app.consent.may_market(gus.id)


async def test_mydata_shows_the_imported_attributes_and_every_broadcast_the_customer_was_in(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    """From the operator's CRM file to the customer's export: the zone and tags imported about them, and
    each broadcast they were in, sent or not (and why not)."""
    ivy = emulator.user(4501, first_name="Ivy")
    async with running_bot(settings):
        await onboard(ivy, marketing=True)
    crm = tmp_path / "customers.csv"
    crm.write_text(f"user_id,time_zone,tags\n{ivy.id},Europe/Vienna,vip;wholesale\n")
    imported = guardbot_cli("customers", "import", str(crm), data_dir=settings.data_dir)
    assert imported.returncode == 0, imported.stderr

    app = await create_guardbot(settings)  # not serving: no engine picks up the broadcasts made here
    try:
        repository, now = app.repository, app.clock.now()
        sent = await repository.add_broadcast(MARKETER_ID, "{}", "digest-1", now)
        quiet = await repository.add_broadcast(MARKETER_ID, "{}", "digest-2", now)
        for broadcast, digest in ((sent, "digest-1"), (quiet, "digest-2")):
            assert await repository.decide_broadcast(
                broadcast, digest=digest, status="approved", decider=COMPLIANCE_ID, now=now, reason=None
            )
            assert await repository.start_broadcast(broadcast, [ivy.id], now)
        assert await repository.settle_and_claim([], [], [(sent, ivy.id)], now) == [(sent, ivy.id)]
        await repository.settle_and_claim(
            [
                Outcome(sent, ivy.id, State.SENT, message_id=77),
                Outcome(quiet, ivy.id, State.EXCLUDED, reason=Exclusion.QUIET_HOURS),
            ],
            [],
            [],
            now,
        )
        desk = PrivacyDesk(
            app.customers,
            app.consent,
            app.offers,
            app.audit,
            app.clock,
            settings.mydata_interval_minutes,
            forms=app.secure_links,
            broadcasts=app.repository,
        )
        export = await desk.collect(ivy.id)
    finally:
        await app.close()

    assert export["profile"]["time_zone"] == "Europe/Vienna"
    assert export["profile"]["tags"] == ["vip", "wholesale"]
    assert export["broadcasts"] == [
        {"broadcast": sent, "state": "sent", "reason": None, "sent_at": iso(now)},
        {"broadcast": quiet, "state": "excluded", "reason": "quiet_hours", "sent_at": None},
    ]
    json.dumps(export)  # still plain JSON
