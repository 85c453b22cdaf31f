"""The locale test: a customer is served in their Telegram language from first contact to /privacy — the
notice and its buttons, the greeting, the menu, the answers, free text — and the audit log names the locale
of every rendering. A language the catalog lacks gets the default (English) throughout.

Expected texts are read from the catalog file itself, so serving the wrong locale fails the test."""

from __future__ import annotations

import sqlite3
import tomllib
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import Guardbot
from bot.emulator import BotApiEmulator, ChatMessage, EmulatedUser
from config import DEFAULT_CONTENT_PATH, Settings
from tests.helpers import logged_entries, subjects_by_user

CATALOG: dict[str, Any] = tomllib.loads(DEFAULT_CONTENT_PATH.read_text(encoding="utf-8"))
VERSION = CATALOG["notice"]["version"]

# A free-text question per locale, answered with the "delivery" answer.
DELIVERY_QUESTION = {
    "en": "When will my parcel be delivered?",
    "de": "Wann kommt meine Lieferung?",
    "ru": "Когда придёт мой заказ?",
}
STOP_WORD = {"en": "STOP", "de": "STOPP", "ru": "СТОП"}
VERSION_LINE = {"en": f"(version {VERSION})", "de": f"(Version {VERSION})", "ru": f"(версия {VERSION})"}


def localized(value: str | dict[str, Any], locale: str) -> Any:
    """The catalog value for `locale`, with no fallback: a missing translation fails the test."""
    table = value if isinstance(value, dict) else {CATALOG["catalog"]["default_locale"]: value}
    return table[locale]


def text(key: str, locale: str, **fields: str) -> str:
    return str(localized(CATALOG["texts"][key]["text"], locale)).format(**fields)


def notice(locale: str) -> str:
    return str(localized(CATALOG["notice"]["text"], locale))


def answer(answer_id: str, locale: str) -> str:
    return str(localized(CATALOG["answers"][answer_id]["text"], locale))


def titles(locale: str) -> list[str]:
    """The help menu: every answer's title, then "talk to a person"."""
    answers = [str(localized(a["title"], locale)) for a in CATALOG["answers"].values()]
    return [*answers, str(localized(CATALOG["texts"]["button.talk_to_person"]["text"], locale))]


def shown(when: float) -> str:
    """A date as the renderer shows it."""
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M UTC")


def accepted_at(settings: Settings, user_id: int) -> float:
    with sqlite3.connect(settings.database_path) as conn:
        row = conn.execute(
            "SELECT at FROM consent_events WHERE user_id = ? AND scope = 'notice' AND action = 'grant'",
            (user_id,),
        ).fetchone()
    assert row is not None
    return float(row[0])


async def onboard_in(emulator: BotApiEmulator, user: EmulatedUser, locale: str) -> ChatMessage:
    """/start, the notice in `locale` with its buttons in `locale`, the accept button pressed by position
    (the first), then the thanks and the greeting in `locale`. Returns the notice."""
    user.send("/start")
    shown_notice = await user.wait_for_bot_message()  # first contact: the notice, nothing before it
    assert shown_notice.text == notice(locale)
    assert VERSION_LINE[locale] in (shown_notice.text or "")
    assert shown_notice.buttons == [
        [text("button.accept_notice", locale)],
        [text("button.marketing_yes", locale), text("button.marketing_no", locale)],
    ]
    answered = len(user.callback_answers)
    user.press(shown_notice.message_id, 0)
    thanks = await user.wait_for_bot_message()
    assert thanks.text == text("consent.accepted", locale, version=VERSION)
    greeting = await user.wait_for_bot_message()
    assert greeting.text == text("start.greeting", locale, first_name=user.first_name)
    await emulator.wait_for(lambda: len(user.callback_answers) == answered + 1)
    assert user.callback_answers[-1]["text"] == text("consent.saved", locale)
    return shown_notice


def test_the_catalog_really_has_german_and_russian() -> None:
    """Guards the test itself: were de or ru copies of the English, it could not tell the locales apart."""
    for locale in ("de", "ru"):
        assert notice(locale) != notice("en")
        assert titles(locale) != titles("en")
        for key in (
            "help.menu",
            "start.greeting",
            "consent.accepted",
            "button.accept_notice",
            "privacy.status",
            "command.offers",
            "command.verify",
            "offers.none",
            "verify.usage",
            "verify.unknown",
        ):
            texts = CATALOG["texts"][key]["text"]
            assert localized(texts, locale) != localized(texts, "en"), (key, locale)


@pytest.mark.parametrize(
    ("language_code", "locale"),
    [("de", "de"), ("de-AT", "de"), ("ru", "ru"), ("ru-RU", "ru"), ("pt", "en"), (None, "en")],
)
async def test_a_customer_is_served_in_their_language_throughout(
    emulator: BotApiEmulator, guardbot: Guardbot, settings: Settings, language_code: str | None, locale: str
) -> None:
    user_id = 5001
    user = emulator.user(user_id, first_name="Lena", language_code=language_code)
    await onboard_in(emulator, user, locale)

    user.send("/help")
    menu = await user.wait_for_bot_message()
    assert menu.text == text("help.menu", locale)
    assert [row[0] for row in menu.buttons] == titles(locale)

    returns_title = str(localized(CATALOG["answers"]["returns"]["title"], locale))
    user.press(menu.message_id, returns_title)
    returns = await user.wait_for_bot_message()
    assert returns.text == answer("returns", locale)
    assert returns.buttons == [[text("button.back_to_menu", locale)]]

    user.press(returns.message_id, text("button.back_to_menu", locale))
    again = await user.wait_for_bot_message()
    assert again.text == text("help.menu", locale)

    user.send(DELIVERY_QUESTION[locale])
    delivery = await user.wait_for_bot_message()
    assert delivery.text == answer("delivery", locale)

    user.send("xyzzy plugh")
    fallback = await user.wait_for_bot_message()
    assert fallback.text == text("faq.fallback", locale)
    assert [row[0] for row in fallback.buttons] == titles(locale)

    user.send("/privacy")
    status = await user.wait_for_bot_message()
    since = shown(accepted_at(settings, user_id))
    assert status.text == text(
        "privacy.status",
        locale,
        notice=text("privacy.notice_current", locale, version=VERSION, date=since),
        marketing=text("privacy.marketing_never", locale),
    )
    assert status.buttons == [
        [text("button.marketing_yes", locale)],
        [text("button.withdraw_notice", locale)],
    ]

    user.send(STOP_WORD[locale])
    stopped = await user.wait_for_bot_message()
    assert stopped.text == text("consent.stopped", locale)
    assert guardbot.gate.refusals == type(guardbot.gate.refusals)()

    # The audit log names the locale of everything rendered for this customer, and what it was.
    subject = subjects_by_user(settings.keyring_path)[user_id]
    calls = [
        e for e in logged_entries(settings.audit_path) if e["type"] == "out.call" and e["subject"] == subject
    ]
    renderings = [r for e in calls for r in e["data"]["renderings"]]
    assert {r["locale"] for r in renderings} == {locale}
    keys = {r["key"] for r in renderings}
    assert {
        f"notice:{VERSION}",
        "text:button.accept_notice",
        "text:consent.saved",
        "text:consent.accepted",
        "text:start.greeting",
        "text:help.menu",
        "answer:returns:title",
        "answer:returns",
        "answer:delivery",
        "text:faq.fallback",
        "text:privacy.status",
        "text:consent.stopped",
    } <= keys


async def test_the_command_menu_is_published_in_every_language(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    languages = {"en": "", "de": "de", "ru": "ru"}  # the default locale's menu is the one without a language
    await emulator.wait_for(lambda: all(emulator.commands(language_code=code) for code in languages.values()))
    names = [c["command"] for c in emulator.commands()]
    customer_commands = ("start", "help", "agent", "offers", "verify", "privacy", "stop", "mydata", "forget")
    assert set(customer_commands) <= set(names)
    for locale, language_code in languages.items():
        published = {c["command"]: c["description"] for c in emulator.commands(language_code=language_code)}
        assert list(published) == names
        for name in customer_commands:
            assert published[name] == text(f"command.{name}", locale)


async def test_before_consent_the_notice_comes_in_the_customers_language(
    emulator: BotApiEmulator, guardbot: Guardbot
) -> None:
    """Any first message (not only /start) gets the reason and the notice, in the customer's language."""
    for user_id, language_code, locale in ((5101, "de-CH", "de"), (5102, "ru", "ru")):
        user = emulator.user(user_id, first_name="Kim", language_code=language_code)
        user.send(DELIVERY_QUESTION[locale])
        assert (await user.wait_for_bot_message()).text == text("consent.required", locale)
        assert (await user.wait_for_bot_message()).text == notice(locale)


@pytest.mark.parametrize(("user_id", "language_code", "locale"), [(5201, "de", "de"), (5202, "ru-RU", "ru")])
async def test_offers_and_verify_answer_in_the_customers_language(
    emulator: BotApiEmulator, guardbot: Guardbot, user_id: int, language_code: str, locale: str
) -> None:
    """/offers with nothing to offer, /verify without a code and with a code we never issued: each answer in
    the customer's language, and nothing refused on the way."""
    user = emulator.user(user_id, first_name="Mia", language_code=language_code)
    await onboard_in(emulator, user, locale)

    user.send("/offers")
    assert (await user.wait_for_bot_message()).text == text("offers.none", locale)

    user.send("/verify")
    assert (await user.wait_for_bot_message()).text == text("verify.usage", locale)

    user.send("/verify V-AAAA-BBBB-CCCC")
    assert (await user.wait_for_bot_message()).text == text("verify.unknown", locale)
    assert guardbot.gate.refusals == type(guardbot.gate.refusals)()
