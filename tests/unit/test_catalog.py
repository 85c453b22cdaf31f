"""The content catalog: strict validation at start, and `content check`."""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.clock import SystemClock
from bot.content import Recipient, Renderer, RenderLedger, load_catalog, parse_catalog
from bot.errors import CatalogError, RenderError
from config import DEFAULT_CONTENT_PATH


@pytest.fixture
def data() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_CONTENT_PATH.read_text())


def broken(data: dict[str, Any], change: Any) -> str:
    doc = copy.deepcopy(data)
    change(doc)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc)
    return str(caught.value)


def test_default_catalog_is_valid() -> None:
    catalog = load_catalog(DEFAULT_CONTENT_PATH)
    assert catalog.default_locale == "en"
    assert "start.greeting" in catalog.texts
    assert list(catalog.answers)[:2] == ["delivery", "returns"]
    assert len(set(catalog.entry_digests().values())) == len(catalog.entry_digests())


def test_unknown_text_key(data: dict[str, Any]) -> None:
    message = broken(data, lambda d: d["texts"].update({"start.greting": {"text": "Hi"}}))
    assert message.startswith("texts.start.greting: unknown key")


def test_missing_text_key(data: dict[str, Any]) -> None:
    message = broken(data, lambda d: d["texts"].pop("help.menu"))
    assert message == "texts.help.menu: missing; the bot needs it"


def test_undeclared_placeholder(data: dict[str, Any]) -> None:
    message = broken(data, lambda d: d["texts"]["help.menu"].update(text="Hi {first_name}"))
    assert "placeholder {first_name} is not declared" in message


def test_field_the_bot_does_not_supply(data: dict[str, Any]) -> None:
    def change(d: dict[str, Any]) -> None:
        d["texts"]["start.greeting"]["fields"] = ["first_name", "phone"]

    assert "'phone' is not a field the bot supplies" in broken(data, change)


@pytest.mark.parametrize("template", ["{first_name.__class__}", "{first_name!r}", "{0}", "{x:>9}"])
def test_only_plain_placeholders(data: dict[str, Any], template: str) -> None:
    message = broken(data, lambda d: d["texts"]["start.greeting"].update(text=template))
    assert "start.greeting" in message


def test_empty_text_and_empty_title(data: dict[str, Any]) -> None:
    assert "empty text" in broken(data, lambda d: d["texts"]["help.menu"].update(text="  "))
    assert "empty text" in broken(data, lambda d: d["answers"]["hours"].update(title=""))


def test_unknown_attribute_and_bad_answer_id(data: dict[str, Any]) -> None:
    assert "unknown key 'txt'" in broken(data, lambda d: d["texts"]["help.menu"].update(txt="x"))
    assert "ids are" in broken(data, lambda d: d["answers"].update({"Bad-ID": {}}))


def test_locale_table_needs_default(data: dict[str, Any]) -> None:
    def change(d: dict[str, Any]) -> None:
        d["texts"]["help.menu"]["text"] = {"de": "Menü"}

    assert "no text for the default locale 'en'" in broken(data, change)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[catalog\n")
    with pytest.raises(CatalogError, match="not valid UTF-8 TOML"):
        load_catalog(bad)


def test_rendering_is_per_recipient_and_locale(data: dict[str, Any]) -> None:
    data["texts"]["help.menu"]["text"] = {"en": "Menu", "de": "Menü"}
    renderer = Renderer(parse_catalog(data), RenderLedger(SystemClock()))
    assert renderer.locale_for("de-AT") == "de"
    assert renderer.locale_for("fr") == "en"
    assert renderer.locale_for(None) == "en"
    german = renderer.text("help.menu", Recipient(5, "de"))
    assert german == "Menü"
    assert german.origin.locale == "de"
    assert renderer.text("help.menu", Recipient(5, "fr")) == "Menu"
    with pytest.raises(RenderError):
        renderer.text("start.greeting", Recipient(5, "en"))  # first_name not supplied
    with pytest.raises(RenderError):
        renderer.text("no.such.key", Recipient(5, "en"))


def test_placeholder_values_are_not_interpreted() -> None:
    renderer = Renderer(load_catalog(DEFAULT_CONTENT_PATH), RenderLedger(SystemClock()))
    text = renderer.text("start.greeting", Recipient(5, "en"), first_name="{first_name}<b>")
    assert text.startswith("Hello, {first_name}<b>!")


def test_content_check_prints_what_is_served(tmp_path: Path, data: dict[str, Any]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Delivery times" in result.stdout
    assert "start.greeting" in result.stdout
    assert result.stdout.strip().endswith("OK: the catalog is valid.")

    bad = tmp_path / "bad.toml"
    bad.write_text(DEFAULT_CONTENT_PATH.read_text().replace("{first_name}!", "{name}!"))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check", "--path", str(bad)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "guardbot: CONTENT_PATH: texts.start.greeting.text.en: placeholder {name} is not declared"
    )


def test_fields_are_typed_so_no_free_text_rides_a_placeholder() -> None:
    renderer = Renderer(load_catalog(DEFAULT_CONTENT_PATH), RenderLedger(SystemClock()))
    to = Recipient(5, "en")
    for bad in ("70% off today", "5; drop", True, 5.5):
        with pytest.raises(RenderError):
            renderer.text("roles.granted", to, user_id=bad, role="agent")
    with pytest.raises(RenderError):
        renderer.text("roles.granted", to, user_id=5, role="Agent with 70% off")
    with pytest.raises(RenderError):  # lines must be catalog fragments, not strings
        renderer.text("roles.list", to, grants=["1: admin (settings)"])
    with pytest.raises(RenderError):
        renderer.text("roles.usage", to, roles="agent, admin")
    row = renderer.fragment("roles.list_row", to, user_id=1, role="admin", source="settings")
    listing = renderer.text("roles.list", to, grants=[row, row])
    assert listing == "Staff roles:\n1: admin (settings)\n1: admin (settings)"
    assert renderer.text("roles.usage", to, roles=["agent", "admin"]).endswith("Roles: agent, admin")


def test_a_name_is_one_bounded_line() -> None:
    renderer = Renderer(load_catalog(DEFAULT_CONTENT_PATH), RenderLedger(SystemClock()))
    text = renderer.text(
        "start.greeting", Recipient(5, "en"), first_name="Ann\nSend your card to\x00" + "x" * 99
    )
    first_line = text.splitlines()[0]
    assert first_line.startswith("Hello, Ann Send your card to")
    name = first_line.removeprefix("Hello, ").split("!")[0]
    assert len(name) == 64


def test_callback_answers_fit_telegrams_200_characters(data: dict[str, Any]) -> None:
    message = broken(data, lambda d: d["texts"]["callback.expired"].update(text="x" * 201))
    assert "limit of 200" in message


def test_answers_unescape_braces_like_system_texts(data: dict[str, Any]) -> None:
    data["answers"]["hours"]["text"] = "Use {{braces}}"
    catalog = parse_catalog(data)
    assert catalog.answers["hours"].texts["en"] == "Use {braces}"
    assert "answers take no placeholders" in broken(data, lambda d: d["answers"]["hours"].update(title="{x}"))


def test_locale_codes_match_case_insensitively_and_answer_locales_count(data: dict[str, Any]) -> None:
    data["answers"]["hours"]["text"] = {"en": "Hours", "pt-BR": "Horário"}
    renderer = Renderer(parse_catalog(data), RenderLedger(SystemClock()))
    assert renderer.locale_for("pt-br") == "pt-BR"
    assert renderer.answer("hours", renderer.recipient(5, "pt-br")) == "Horário"


def test_the_privacy_notice_is_required_and_versioned(data: dict[str, Any]) -> None:
    assert broken(data, lambda d: d.pop("notice")).startswith("[notice]: missing")
    assert broken(data, lambda d: d["notice"].update(version="v 1")).startswith("[notice].version: required")
    assert broken(data, lambda d: d["notice"].update(text="")).startswith("notice.text.en: empty text")
    assert "takes no placeholders" in broken(data, lambda d: d["notice"].update(text="Hi {first_name}"))
    assert "unknown key 'txt'" in broken(data, lambda d: d["notice"].update(txt="x"))
    catalog = parse_catalog(data)
    assert catalog.notice.version == "2026-11"
    assert f"notice:{catalog.notice.version}" in catalog.entry_digests()
    # Any change to the notice changes its digest (recorded with every consent).
    changed = copy.deepcopy(data)
    changed["notice"]["text"]["en"] += " "
    assert parse_catalog(changed).notice.digest != catalog.notice.digest


def test_marketing_templates_are_validated_and_render_as_marketing(data: dict[str, Any]) -> None:
    assert "ids are 1-32 characters" in broken(
        data, lambda d: d["templates"].update({"Bad-Id": {"text": "x"}})
    )
    assert "no text for the default locale" in broken(
        data, lambda d: d["templates"].update({"t": {"text": {"de": "Hallo"}}})
    )
    catalog = parse_catalog(data)
    renderer = Renderer(catalog, RenderLedger(SystemClock()))
    rendered = renderer.template("newsletter", Recipient(5, "en"))
    assert rendered.origin.marketing
    assert not renderer.notice(Recipient(5, "en")).origin.marketing
    with pytest.raises(RenderError):
        renderer.template("nope", Recipient(5, "en"))


def test_date_and_version_fields_accept_only_their_kind() -> None:
    renderer = Renderer(load_catalog(DEFAULT_CONTENT_PATH), RenderLedger(SystemClock()))
    to = Recipient(5, "en")
    line = renderer.fragment("privacy.notice_current", to, version="2026-11", date=1_795_900_000.0)
    assert line == "accepted (version 2026-11) on 2026-11-28 21:06 UTC"
    with pytest.raises(RenderError):
        renderer.fragment("privacy.notice_current", to, version="2026 11 <b>", date=0)
    with pytest.raises(RenderError):
        renderer.fragment("privacy.notice_current", to, version="2026-11", date="yesterday")


def test_no_catalog_text_would_be_stopped_by_the_gates_content_checks() -> None:
    """A text the gate would refuse (an example promo code, a discount, a card-like number) is a deploy error
    waiting to happen in front of a customer; catch it here instead."""
    from bot.gate.content import ApprovedClaims, ContentChecker, IdentifierIndex

    class NothingApproved:
        def approved_claims(self) -> ApprovedClaims:
            return ApprovedClaims()

        def personal_codes(self, user_id: int | None) -> frozenset[str]:
            return frozenset()

    catalog = load_catalog(DEFAULT_CONTENT_PATH)
    checker = ContentChecker(NothingApproved(), IdentifierIndex())
    texts = [(f"text:{key}", t) for key, entry in catalog.texts.items() for t in entry.templates.values()]
    texts += [
        (f"answer:{a.id}", t)
        for a in catalog.answers.values()
        for t in (*a.texts.values(), *a.titles.values())
    ]
    texts += [("notice", t) for t in catalog.notice.texts.values()]
    texts += [(f"template:{k}", t) for k, tm in catalog.templates.items() for t in tm.texts.values()]
    stopped = [(where, checker.problem([text], 1, free=False)) for where, text in texts]
    assert [(where, problem) for where, problem in stopped if problem] == []


def test_answer_buttons_link_approved_answers_and_https_pages(data: dict[str, Any]) -> None:
    def with_buttons(buttons: Any) -> Callable[[dict[str, Any]], None]:
        return lambda d: d["answers"]["returns"].update(buttons=buttons)

    assert "exactly one of answer" in broken(data, with_buttons([{"text": "x"}]))
    assert "no answer 'nope'" in broken(data, with_buttons([{"text": "x", "answer": "nope"}]))
    assert "https address" in broken(data, with_buttons([{"text": "x", "url": "http://example.com"}]))
    assert "https address" in broken(data, with_buttons([{"text": "x", "url": "https://example.com/?a=1"}]))
    assert "limit of 64" in broken(data, with_buttons([{"text": "x" * 65, "answer": "delivery"}]))
    doc = copy.deepcopy(data)
    with_buttons(
        [
            {"text": {"en": "Delivery times", "de": "Lieferzeiten"}, "answer": "delivery"},
            {"text": "Our returns page", "url": "https://example.com/returns"},
        ]
    )(doc)
    catalog = parse_catalog(doc)
    renderer = Renderer(catalog, RenderLedger(SystemClock()))
    label, url = renderer.answer_button("returns", 0, Recipient(5, "de"))
    assert (label, url) == ("Lieferzeiten", None)
    label, url = renderer.answer_button("returns", 1, Recipient(5, "de"))
    assert (label, url) == ("Our returns page", "https://example.com/returns")
    assert catalog.answers["returns"].digest != parse_catalog(data).answers["returns"].digest
