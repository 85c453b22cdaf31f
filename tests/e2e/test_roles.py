"""Roles: granted from settings at start, managed with /roles by admins, refused politely to others."""

from __future__ import annotations

import pytest

from bot.app import Guardbot
from bot.emulator import BotApiEmulator
from flows.roles import Role
from tests.helpers import ADMIN_ID, AGENT_ID, COMPLIANCE_2_ID, COMPLIANCE_ID, MARKETER_ID


async def test_settings_grant_roles_at_start(guardbot: Guardbot) -> None:
    assert Role.ADMIN in guardbot.role_book.roles_of(ADMIN_ID)
    assert guardbot.role_book.roles_of(AGENT_ID) == {Role.AGENT}
    assert guardbot.role_book.roles_of(12345) == frozenset()


async def test_admin_lists_grants_and_revokes(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    admin = emulator.user(ADMIN_ID, first_name="Ada")
    admin.send("/roles")
    listing = await admin.wait_for_bot_message()
    assert listing.text == (
        f"Staff roles:\n{ADMIN_ID}: admin (settings)\n{AGENT_ID}: agent (settings)\n"
        f"{COMPLIANCE_ID}: compliance (settings)\n{MARKETER_ID}: marketing (settings)\n"
        f"{COMPLIANCE_2_ID}: compliance (settings)"
    )

    admin.send("/roles grant 3003 compliance")
    assert (await admin.wait_for_bot_message()).text == "Granted compliance to 3003."
    assert guardbot.role_book.roles_of(3003) == {Role.COMPLIANCE}
    grants = {(g.user_id, g.role, g.source, g.granted_by) for g in await guardbot.repository.role_grants()}
    assert (3003, "compliance", "command", ADMIN_ID) in grants

    admin.send("/roles grant 3003 compliance")
    assert (await admin.wait_for_bot_message()).text == (
        "Nothing changed: 3003 and compliance were already that way."
    )
    admin.send("/roles revoke 3003 compliance")
    assert (await admin.wait_for_bot_message()).text == "Revoked compliance from 3003."
    assert guardbot.role_book.roles_of(3003) == frozenset()


@pytest.mark.parametrize(
    "args",
    [
        "grant",
        "grant abc agent",
        "grant 5 king",
        "fire 5 agent",
        "grant 0 agent",
        "grant ² agent",
        "grant 99999999999999999999 agent",
        "grant 5 agent extra",
    ],
)
async def test_bad_role_commands_get_usage(emulator: BotApiEmulator, guardbot: Guardbot, args: str) -> None:
    admin = emulator.user(ADMIN_ID, first_name="Ada")
    admin.send(f"/roles {args}")
    reply = await admin.wait_for_bot_message()
    assert reply.text is not None and reply.text.startswith("Usage:")


async def test_admin_cannot_lock_themselves_out(emulator: BotApiEmulator, guardbot: Guardbot) -> None:
    admin = emulator.user(ADMIN_ID, first_name="Ada")
    admin.send(f"/roles revoke {ADMIN_ID} admin")
    assert (await admin.wait_for_bot_message()).text == (
        "You cannot revoke your own admin role; ask another admin."
    )
    assert Role.ADMIN in guardbot.role_book.roles_of(ADMIN_ID)


async def test_non_admins_are_refused_politely_and_logged(
    emulator: BotApiEmulator, guardbot: Guardbot, caplog: pytest.LogCaptureFixture
) -> None:
    for user_id in (AGENT_ID, 4004):
        user = emulator.user(user_id, first_name="Staff")
        user.send("/roles grant 4004 admin")
        reply = await user.wait_for_bot_message()
        assert reply.text == "Sorry, this command is only for staff with the right role."
    assert guardbot.role_book.roles_of(4004) == frozenset()
    assert caplog.text.count("staff.refused") == 2
