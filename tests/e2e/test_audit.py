"""The audit log end to end: a real conversation, exported and verified offline in a fresh process;
everything sent has its entry; nothing readable is left in any file; erasure; /audit; key rotation."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import Guardbot
from bot.audit.auditor import Auditor, AuditPaths
from bot.emulator import BotApiEmulator
from config import Settings
from tests.helpers import (
    ADMIN_ID,
    COMPLIANCE_ID,
    TEST_TOKEN,
    logged_entries,
    onboard,
    running_bot,
    subjects_by_user,
)

SECRET_PHRASE = "purple elephant refund 4111"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The operator's command in a fresh process; only what is passed is in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": str(cwd), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def converse(emulator: BotApiEmulator) -> None:
    alice = emulator.user(8001, first_name="Alice")
    await onboard(alice)
    alice.send("/help")
    menu = await alice.wait_for_bot_message()
    alice.press(menu.message_id, "Opening hours")
    await alice.wait_for_bot_message()
    alice.send(SECRET_PHRASE)
    await alice.wait_for_bot_message()
    alice.send("/roles grant 8001 admin")  # refused: a staff command
    await alice.wait_for_bot_message()
    admin = emulator.user(ADMIN_ID, first_name="Ada")
    admin.send("/roles grant 8002 agent")
    await admin.wait_for_bot_message()


async def test_conversation_is_logged_exported_and_verified_offline(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    async with running_bot(settings) as app:
        await converse(emulator)
        origin = app.audit.log.origin
    logged = logged_entries(settings.audit_path)
    people = subjects_by_user(settings.keyring_path)
    types = [e["type"] for e in logged]
    assert types[0] == "log.started"
    assert types[-1] == "log.stopped"
    for expected in (
        "in.update",
        "out.call",
        "out.result",
        "role.changed",
        "staff.refused",
        "consent.granted",
    ):
        assert expected in types

    # Every message Telegram (the emulator) accepted has its out.call before it and its out.result after.
    sent = [c for c in emulator.calls_to("sendMessage") if c.ok]
    results = {
        (e["subject"], e["data"]["message_id"])
        for e in logged
        if e["type"] == "out.result" and e["data"]["ok"] and "message_id" in e["data"]
    }
    for call in sent:
        subject = people[call.params["chat_id"]]
        assert (subject, call.response["result"]["message_id"]) in results
    calls = {e["seq"]: e for e in logged if e["type"] == "out.call"}
    for result in (e for e in logged if e["type"] == "out.result"):
        assert result["data"]["call"] in calls and result["data"]["call"] < result["seq"]
    assert all(e["subject"] in set(people.values()) | {None} for e in logged)

    export = tmp_path / "export.jsonl"
    exported = cli(
        "audit", "export", "--out", str(export), cwd=tmp_path, env={"DATA_DIR": str(settings.data_dir)}
    )
    assert exported.returncode == 0, exported.stderr
    keys = tmp_path / "pinned.pub"
    keys.write_text(settings.trusted_keys_path.read_text())
    auditor_dir = tmp_path / "auditor"
    auditor_dir.mkdir()
    verified = cli("audit", "verify", "--export", str(export), "--public-key", str(keys), cwd=auditor_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact" in verified.stdout
    assert origin in export.read_text().splitlines()[0]

    # No file holds the token, the customer's words, or their name in clear.
    files = [p for p in settings.data_dir.iterdir() if p.is_file()] + [export]
    for path in files:
        raw = path.read_bytes()
        for needle in (TEST_TOKEN, SECRET_PHRASE, "purple elephant", "Alice", "Hello, Alice"):
            assert needle.encode() not in raw, f"{needle!r} in {path.name}"


async def test_erased_customer_content_is_gone_and_the_log_still_verifies(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    async with running_bot(settings) as app:
        bob = emulator.user(8101, first_name="Bob")
        await onboard(bob)  # before that, what Bob writes is not kept at all
        bob.send(SECRET_PHRASE)
        await bob.wait_for_bot_message()
        subject = await app.audit.subject_id(8101)
        own = [
            e
            for e in logged_entries(settings.audit_path)
            if e["subject"] == subject and e["type"] == "in.update" and e["content"]
        ]
        assert own
        assert await app.audit.read(8101, own[0]["seq"]) is not None
        assert await app.audit.erase(8101) == subject
        assert await app.audit.read(8101, own[0]["seq"]) is None
    assert 8101 not in subjects_by_user(settings.keyring_path)
    with sqlite3.connect(settings.audit_path) as conn:
        assert conn.execute("SELECT count(*) FROM contents WHERE subject = ?", (subject,)).fetchone() == (0,)
    assert [e["type"] for e in logged_entries(settings.audit_path) if e["subject"] == subject][
        -1
    ] == "subject.erased"
    verified = cli("audit", "verify", cwd=tmp_path, env={"DATA_DIR": str(settings.data_dir)})
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "erased" in verified.stdout


async def test_compliance_audit_command(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    officer = emulator.user(COMPLIANCE_ID, first_name="Cleo")
    officer.send("/audit")
    reply = await officer.wait_for_bot_message(timeout=15)
    assert reply.text is not None
    assert reply.text.startswith("Audit log verified against its own signed checkpoints: intact.")
    customer = emulator.user(8201, first_name="Dee")
    customer.send("/audit")
    assert (await customer.wait_for_bot_message()).text == (
        "Sorry, this command is only for staff with the right role."
    )


async def test_checkpoints_are_anchored_to_a_file_and_a_chat(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    anchor_file = tmp_path / "anchors" / "guardbot.jsonl"
    anchored = settings.model_copy(
        update={"audit_anchor_file": anchor_file, "audit_anchor_chat_id": COMPLIANCE_ID}
    )
    officer = emulator.user(COMPLIANCE_ID, first_name="Cleo")
    async with running_bot(anchored) as app:
        await app.audit.record("test.critical", critical=True)  # a critical event is anchored at once
        posted = await officer.wait_for_bot_message(timeout=10)
        assert posted.text is not None and posted.text.startswith("Audit log checkpoint")
        assert app.audit.log.origin in posted.text
        officer.send("/audit")
        report = await officer.wait_for_bot_message(
            lambda m: (m.text or "").startswith("Audit log verified"), timeout=15
        )
        assert (report.text or "").startswith("Audit log verified: intact.")
    lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
    assert lines and all("checkpoint" in line for line in lines)
    verified = cli(
        "audit",
        "verify",
        "--checkpoints",
        str(anchor_file),
        cwd=tmp_path,
        env={"DATA_DIR": str(settings.data_dir)},
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "anchored" in verified.stdout


async def test_key_rotation(tmp_path: Path, emulator: BotApiEmulator, settings: Settings) -> None:
    carol = emulator.user(8301, first_name="Carol")
    async with running_bot(settings) as app:
        await onboard(carol)
        carol.send(SECRET_PHRASE)
        await carol.wait_for_bot_message()
        before = [
            e for e in logged_entries(settings.audit_path) if e["content"] and e["type"] == "in.update"
        ][-1]
    old_keys = settings.trusted_keys_path.read_text()
    env = {"DATA_DIR": str(settings.data_dir)}
    rotated = cli("keys", "rotate", cwd=tmp_path, env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "signing key rotated" in rotated.stdout
    assert len(settings.trusted_keys_path.read_text().split()) == 2
    async with running_bot(settings) as app:
        carol.send("/start")
        await carol.wait_for_bot_message()
        assert await app.audit.read(8301, before["seq"]) == {
            "text": SECRET_PHRASE
        }  # rewrapped, still readable
    rotations = [e for e in logged_entries(settings.audit_path) if e["type"] == "key.rotated"]
    assert {e["data"]["key"] for e in rotations} == {"signing", "data"}
    both = cli("audit", "verify", cwd=tmp_path, env=env)
    assert both.returncode == 0, both.stdout + both.stderr
    only_old = tmp_path / "old.pub"
    only_old.write_text(old_keys)
    stale = cli("audit", "verify", "--public-key", str(only_old), cwd=tmp_path, env=env)
    assert stale.returncode == 1
    assert "trusted key" in stale.stdout


@pytest.mark.parametrize("missing", ["--public-key"])
def test_offline_verify_needs_pinned_keys(tmp_path: Path, missing: str) -> None:
    export = tmp_path / "x.jsonl"
    export.write_text("")
    result = cli("audit", "verify", "--export", str(export), cwd=tmp_path)
    assert result.returncode == 2
    assert missing in result.stderr


async def test_the_bot_refuses_to_extend_a_log_altered_while_it_was_down(
    tmp_path: Path, emulator: BotApiEmulator, settings: Settings
) -> None:
    from bot.app import create_guardbot
    from bot.audit.merkle import leaf_hash
    from bot.audit.writer import AuditIntegrityError

    async with running_bot(settings):
        erin = emulator.user(8401, first_name="Erin")
        erin.send("/start")
        await erin.wait_for_bot_message()
    with sqlite3.connect(settings.audit_path) as conn:
        body = conn.execute("SELECT body FROM entries WHERE seq = 1").fetchone()[0]
        forged = (
            bytes(body).replace(b'"kind":"', b'"kind":"x', 1) if b'"kind":"' in body else bytes(body) + b" "
        )
        conn.execute("UPDATE entries SET body = ?, leaf = ? WHERE seq = 1", (forged, leaf_hash(forged)))
    with pytest.raises(AuditIntegrityError, match="does not match its latest checkpoint"):
        await create_guardbot(settings)
    result = cli("run", cwd=tmp_path, env={"DATA_DIR": str(settings.data_dir), "BOT_TOKEN": TEST_TOKEN})
    assert result.returncode == 1
    assert result.stderr.strip().startswith("guardbot: the stored log does not match its latest checkpoint")


async def test_an_entry_the_log_cannot_encode_fails_its_caller_and_nothing_else(guardbot: Guardbot) -> None:
    """A bug that hands the log a float (the canonical form allows none) must not stop the log: that one
    record fails loudly, and the records before and after it are written and verify."""
    before = await guardbot.audit.record("test.before", data={"n": 1}, critical=True)
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the canonical encoder raises
        await guardbot.audit.record("test.float", data={"send_at": 0.5}, critical=True)
    after = await guardbot.audit.record("test.after", data={"n": 2}, critical=True)
    assert after > before
    report = await Auditor(
        guardbot.audit.log,
        AuditPaths(guardbot.settings.audit_path, guardbot.settings.trusted_keys_path, None),
    ).verify()
    assert report.ok
    kinds = [entry["type"] for entry in logged_entries(guardbot.settings.audit_path)]
    assert "test.before" in kinds and "test.after" in kinds and "test.float" not in kinds
