"""Consent policy (flows/consent.py) and the consent ledger service on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import create_guardbot
from bot.services import ConsentBook
from flows.consent import (
    DAY,
    Action,
    ConsentEvent,
    ConsentState,
    Marketing,
    Scope,
    Via,
    is_opt_out,
    marketing_status,
)
from tests.helpers import make_settings

V1, V2 = "2026-11", "2027-01"


def event(scope: Scope, action: Action, version: str = V1, at: float = 0.0) -> ConsentEvent:
    return ConsentEvent(scope, action, version, at, Via.BUTTON, "test")


def state(*events: ConsentEvent) -> ConsentState:
    return ConsentState.derive(events)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ((), Marketing.NEVER),
        ((event(Scope.NOTICE, Action.GRANT),), Marketing.NEVER),
        ((event(Scope.NOTICE, Action.GRANT), event(Scope.MARKETING, Action.GRANT)), Marketing.GRANTED),
        # Order of the two choices does not matter.
        ((event(Scope.MARKETING, Action.GRANT), event(Scope.NOTICE, Action.GRANT)), Marketing.GRANTED),
        (
            (
                event(Scope.NOTICE, Action.GRANT),
                event(Scope.MARKETING, Action.GRANT),
                event(Scope.MARKETING, Action.WITHDRAW),
            ),
            Marketing.WITHDRAWN,
        ),
        (
            (
                event(Scope.NOTICE, Action.GRANT),
                event(Scope.MARKETING, Action.GRANT),
                event(Scope.MARKETING, Action.WITHDRAW),
                event(Scope.MARKETING, Action.GRANT),
            ),
            Marketing.GRANTED,
        ),
        # Marketing without (or after withdrawing) the notice does not count.
        ((event(Scope.MARKETING, Action.GRANT),), Marketing.OLD_NOTICE),
        (
            (
                event(Scope.NOTICE, Action.GRANT),
                event(Scope.MARKETING, Action.GRANT),
                event(Scope.NOTICE, Action.WITHDRAW),
            ),
            Marketing.OLD_NOTICE,
        ),
    ],
)
def test_marketing_status_follows_the_latest_choices(
    events: tuple[ConsentEvent, ...], expected: Marketing
) -> None:
    assert marketing_status(state(*events), V1, now=10.0, max_age_days=730) is expected


def test_a_new_notice_version_needs_acceptance_and_a_fresh_marketing_yes() -> None:
    old = state(event(Scope.NOTICE, Action.GRANT, V1), event(Scope.MARKETING, Action.GRANT, V1))
    assert old.accepted(V1)
    assert not old.accepted(V2)
    assert old.accepted_before(V2)
    assert marketing_status(old, V2, 10.0, 730) is Marketing.OLD_NOTICE
    reaccepted = state(
        event(Scope.NOTICE, Action.GRANT, V1),
        event(Scope.MARKETING, Action.GRANT, V1),
        event(Scope.NOTICE, Action.GRANT, V2),
    )
    assert reaccepted.accepted(V2)
    assert marketing_status(reaccepted, V2, 10.0, 730) is Marketing.OLD_NOTICE
    fresh = state(event(Scope.NOTICE, Action.GRANT, V2), event(Scope.MARKETING, Action.GRANT, V2))
    assert marketing_status(fresh, V2, 10.0, 730) is Marketing.GRANTED


def test_marketing_consent_expires_after_the_configured_age() -> None:
    given = state(event(Scope.NOTICE, Action.GRANT, at=0.0), event(Scope.MARKETING, Action.GRANT, at=100.0))
    assert marketing_status(given, V1, now=100.0 + 30 * DAY - 1, max_age_days=30) is Marketing.GRANTED
    assert marketing_status(given, V1, now=100.0 + 30 * DAY, max_age_days=30) is Marketing.EXPIRED
    # The notice acceptance itself does not expire; a new yes renews marketing.
    renewed = state(
        event(Scope.NOTICE, Action.GRANT, at=0.0),
        event(Scope.MARKETING, Action.GRANT, at=100.0),
        event(Scope.MARKETING, Action.GRANT, at=100.0 + 30 * DAY),
    )
    assert renewed.accepted(V1)
    assert marketing_status(renewed, V1, now=100.0 + 31 * DAY, max_age_days=30) is Marketing.GRANTED


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        " Stop. ",
        "STOP!!!",
        "Stop all",
        "UNSUBSCRIBE",
        "unsub",
        "Opt-out",
        "opt out",
        "cancel",
        "QUIT",
        "End",
        "Stopp",
        "abmelden",
        "Abbestellen!",
        "arrêt",
        "ARRET",
        "Arrêter",
        "désabonner",
        "Se désabonner",
        "baja",
        "¡Baja!",
        "Darse de baja",
        "alto",
        "Parar",
        "стоп",
        "СТОП!",
        "Отписаться",
        "отписка",
    ],
)
def test_opt_out_keywords_in_five_languages(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "stop it now please",
        "how do I stop my order",
        "please unsubscribe me from the newsletter and also tell me about returns",
        "stopwatch",
        "Stoppuhr",
        "стоп-кран",
        "cancel my order",
        "x" * 5000,
    ],
)
def test_not_opt_outs(text: str) -> None:
    assert not is_opt_out(text)


@pytest.fixture
async def book(tmp_path: Path) -> AsyncIterator[ConsentBook]:
    app = await create_guardbot(make_settings(tmp_path / "data"))
    try:
        yield app.consent
    finally:
        await app.close()


async def test_the_ledger_is_append_only_and_the_state_is_derived(book: ConsentBook, tmp_path: Path) -> None:
    await book.record(7, Scope.NOTICE, Action.GRANT, via=Via.BUTTON, detail="accept_notice", message_id=3)
    assert await book.may_chat(7)
    assert not await book.may_market(7)
    await book.record(7, Scope.MARKETING, Action.GRANT, via=Via.BUTTON, detail="marketing_yes", message_id=3)
    assert await book.may_market(7)
    await book.record(7, Scope.MARKETING, Action.WITHDRAW, via=Via.KEYWORD, detail="stop")
    assert not await book.may_market(7)
    history = await book.history(7)
    assert [(r.event.scope, r.event.action, r.event.via) for r in history] == [
        (Scope.NOTICE, Action.GRANT, Via.BUTTON),
        (Scope.MARKETING, Action.GRANT, Via.BUTTON),
        (Scope.MARKETING, Action.WITHDRAW, Via.KEYWORD),
    ]
    assert all(r.notice_digest == book.notice.digest for r in history)
    assert len({r.audit_seq for r in history}) == 3
    with sqlite3.connect(tmp_path / "data" / "guardbot.db") as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("UPDATE consent_events SET action = 'grant'")
    assert not await book.may_market(7)
