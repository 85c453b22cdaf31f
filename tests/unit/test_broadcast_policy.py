"""Broadcast eligibility (flows/broadcasts.py): consent, opt-out, reachability, audience, cap, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from flows.broadcasts import WEEK, Exclusion, QuietHours, Recipient, duration_seconds, exclusion, zone

NOON_UTC = datetime(2026, 12, 2, 12, 0, tzinfo=UTC).timestamp()
QUIET = QuietHours.parse("21:00-09:00")


def who(**changes: object) -> Recipient:
    values: dict[str, object] = {
        "user_id": 1,
        "locale": "en",
        "marketing": "granted",
        "unreachable": False,
        "time_zone": "Europe/Berlin",
        "sent_this_week": (),
    }
    values.update(changes)
    return Recipient(**values)  # type: ignore[arg-type]


def check(recipient: Recipient, now: float = NOON_UTC, **options: object) -> Exclusion | None:
    settings: dict[str, object] = {
        "now": now,
        "locales": frozenset(),
        "max_per_week": 2,
        "quiet": QUIET,
        "default_zone": "Europe/Berlin",
    }
    settings.update(options)
    return exclusion(recipient, **settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, None),
        ({"marketing": "never"}, Exclusion.NO_CONSENT),
        ({"marketing": "expired"}, Exclusion.NO_CONSENT),
        ({"marketing": "old_notice"}, Exclusion.NO_CONSENT),
        ({"marketing": "withdrawn"}, Exclusion.OPTED_OUT),
        ({"unreachable": True}, Exclusion.UNREACHABLE),
        ({"sent_this_week": (NOON_UTC - 3600, NOON_UTC - 7200)}, Exclusion.FREQUENCY_CAP),
        ({"sent_this_week": (NOON_UTC - WEEK - 1, NOON_UTC - 7200)}, None),  # one fell out of the week
        ({"time_zone": "Asia/Tokyo"}, Exclusion.QUIET_HOURS),  # 21:00 there
        ({"time_zone": "America/Los_Angeles"}, Exclusion.QUIET_HOURS),  # 04:00 there
        ({"time_zone": "Not/AZone"}, None),  # unknown: the default zone (Berlin, 13:00)
    ],
)
def test_who_gets_a_broadcast_now(changes: dict[str, object], expected: Exclusion | None) -> None:
    assert check(who(**changes)) is expected


def test_consent_comes_first_and_the_audience_can_be_narrowed() -> None:
    assert check(who(marketing="withdrawn", unreachable=True)) is Exclusion.OPTED_OUT
    assert check(who(locale="ru"), locales=frozenset({"de", "en"})) is Exclusion.LANGUAGE
    assert check(who(locale="de"), locales=frozenset({"de", "en"})) is None


def test_quiet_hours_wrap_midnight_and_say_when_they_end() -> None:
    berlin = zone("Europe/Berlin", "UTC")
    late = datetime(2026, 12, 2, 23, 30, tzinfo=berlin)
    early = datetime(2026, 12, 3, 8, 59, tzinfo=berlin)
    day = datetime(2026, 12, 3, 9, 0, tzinfo=berlin)
    assert QUIET.contains(late) and QUIET.contains(early) and not QUIET.contains(day)
    assert QUIET.ends_after(late) == datetime(2026, 12, 3, 9, 0, tzinfo=berlin)
    office = QuietHours(time(12, 0), time(13, 0))
    assert office.contains(datetime(2026, 12, 2, 12, 30, tzinfo=berlin))
    assert not office.contains(datetime(2026, 12, 2, 13, 0, tzinfo=berlin))
    with pytest.raises(ValueError, match="HH:MM"):
        QuietHours.parse("9pm to 9am")


def test_the_dry_runs_duration() -> None:
    assert duration_seconds(1000, 25) == 40
    assert duration_seconds(20_000, 1000) == 20
