"""`guardbot customers import FILE`: the operator brings time zones and tags over from their CRM (Telegram
tells a bot neither), all rows or none, with one audit entry and nothing personal on the terminal."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.lock import hold_data_dir
from tests.helpers import guardbot_cli, logged_entries

GOOD = """user_id,time_zone,tags
1001,Europe/Berlin,vip;berlin
1002,,newsletter
1003,America/New_York,"VIP wholesale"
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A deployment whose keys exist (as after `guardbot keys init`); the import creates the database."""
    path = tmp_path / "data"
    created = guardbot_cli("keys", "init", data_dir=path)
    assert created.returncode == 0, created.stderr
    return path


def users(data_dir: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "guardbot.db") as conn:
        return list(conn.execute("SELECT user_id, time_zone, tags FROM users ORDER BY user_id"))


def imports(data_dir: Path) -> list[dict[str, Any]]:
    return [e for e in logged_entries(data_dir / "audit.db") if e["type"] == "customers.imported"]


def import_file(data_dir: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = data_dir.parent / "customers.csv"
    path.write_text(text, encoding="utf-8")
    return guardbot_cli("customers", "import", str(path), data_dir=data_dir)


def test_an_import_sets_time_zones_and_tags_and_is_logged_once(data_dir: Path) -> None:
    result = import_file(data_dir, GOOD)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 3 customers\n"
    assert "vip" not in result.stdout + result.stderr.lower()
    assert "Berlin" not in result.stdout + result.stderr
    assert users(data_dir) == [
        (1001, "Europe/Berlin", ",berlin,vip,"),
        (1002, None, ",newsletter,"),
        (1003, "America/New_York", ",vip,wholesale,"),
    ]
    (entry,) = imports(data_dir)
    assert entry["data"] == {"rows": 3}
    assert entry["actor"] == "system"
    assert entry["subject"] is None  # about many people: a count, no one in particular
    verified = guardbot_cli("audit", "verify", data_dir=data_dir)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_later_import_replaces_attributes_and_keeps_the_rest(data_dir: Path) -> None:
    """The CRM is the source: a new file sets each listed customer's zone and tags (an empty cell clears
    them), leaves what the bot learned itself alone, and leaves customers it does not list untouched."""
    assert import_file(data_dir, GOOD).returncode == 0
    with sqlite3.connect(data_dir / "guardbot.db") as conn:
        conn.execute("UPDATE users SET language_code = 'de' WHERE user_id = 1001")
        (before,) = conn.execute("SELECT first_seen FROM users WHERE user_id = 1001").fetchone()

    # Columns in any order and case; a blank line and the ",," rows spreadsheets append are skipped.
    result = import_file(
        data_dir, "Tags,USER_ID,time_zone\r\n\r\n,1001,Asia/Tokyo\r\nretail,1002,UTC\r\n,,\r\n"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 2 customers\n"
    assert users(data_dir) == [
        (1001, "Asia/Tokyo", ""),
        (1002, "UTC", ",retail,"),
        (1003, "America/New_York", ",vip,wholesale,"),
    ]
    with sqlite3.connect(data_dir / "guardbot.db") as conn:
        kept = conn.execute("SELECT language_code, first_seen FROM users WHERE user_id = 1001").fetchone()
    assert kept == ("de", before)
    assert [e["data"] for e in imports(data_dir)] == [{"rows": 3}, {"rows": 2}]


def test_a_file_with_bad_rows_changes_nothing_and_never_echoes_a_value(data_dir: Path) -> None:
    assert import_file(data_dir, GOOD).returncode == 0
    before = users(data_dir)
    bad = (
        "user_id,time_zone,tags\n"
        "1001,Asia/Tokyo,retail\n"  # line 2: fine on its own, but nothing is written
        "12ab34,UTC,retail\n"  # line 3
        "4503599627370496,UTC,retail\n"  # line 4: 2**52, beyond Telegram's ids
        "1004,Mars/Olympus_Mons,retail\n"  # line 5
        "1005,UTC,secret!tag\n"  # line 6
        "1001,UTC,retail\n"  # line 7: the customer of line 2 again
        "1006,UTC\n"  # line 8
        '1007,"Europe/\nParis",retail\n'  # lines 9-10: a quoted cell spanning lines; reported at 9
        "1008,UTC,retail\n"  # line 11: fine
    )

    result = import_file(data_dir, bad)

    assert result.returncode == 2
    assert result.stdout == ""
    problems = result.stderr.splitlines()
    assert problems == [
        "guardbot: line 3, user_id: not a Telegram user id (a whole number from 1 to 2^52-1)",
        "guardbot: line 4, user_id: not a Telegram user id (a whole number from 1 to 2^52-1)",
        "guardbot: line 5, time_zone: not an IANA time zone name (such as Europe/Berlin)",
        "guardbot: line 6, tags: each tag is a-z, 0-9, _ or - (up to 32 characters), "
        "separated by ; or spaces",
        "guardbot: line 7, user_id: the same customer as on line 2",
        "guardbot: line 8: 2 fields, expected 3",
        "guardbot: line 9, time_zone: not an IANA time zone name (such as Europe/Berlin)",
        "guardbot: 7 problem(s); nothing was imported",
    ]
    for value in ("12ab34", "4503599627370496", "Olympus", "secret", "Tokyo", "Paris", "retail"):
        assert value not in result.stderr
    assert users(data_dir) == before
    assert len(imports(data_dir)) == 1  # only the first, good import


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        # A file without its header starts with a customer: the header problem must not quote it.
        (
            "1001,Europe/Berlin,vip\n",
            "line 1: the header must name the columns user_id, time_zone, tags, each once, and no others",
        ),
        (
            "user_id;time_zone;tags\n1001;Europe/Berlin;vip\n",
            "line 1: the header must name the columns user_id, time_zone, tags, each once, and no others",
        ),
        ("", "line 1: no header (expected the columns user_id, time_zone, tags)"),
        ('user_id,time_zone,tags\n1001,"Europe/Berlin,vip\n', "line 2: not valid CSV"),
    ],
)
def test_a_file_that_is_not_a_customer_list_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    data_dir = tmp_path / "data"  # no keys needed: the file is refused before anything is opened
    result = import_file(data_dir, text)

    assert result.returncode == 2
    assert f"guardbot: {problem}" in result.stderr
    assert "1001" not in result.stderr and "Berlin" not in result.stderr
    assert not data_dir.exists()


def test_an_import_reads_standard_input_for_a_dash(data_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "customers", "import", "-"],
        env={"PATH": os.environ["PATH"], "HOME": str(data_dir.parent), "DATA_DIR": str(data_dir)},
        input="user_id,time_zone,tags\n2001,Europe/Lisbon,vip\n2002,,\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "imported 2 customers\n"
    assert users(data_dir) == [(2001, "Europe/Lisbon", ",vip,"), (2002, None, "")]
    assert [e["data"] for e in imports(data_dir)] == [{"rows": 2}]


def test_an_import_needs_the_keys_and_a_stopped_bot(tmp_path: Path, data_dir: Path) -> None:
    """The audit log has one writer: the import waits for the bot to stop, like `keys rotate`. And without
    keys it creates no database, which would make a later first start look like lost keys."""
    with hold_data_dir(data_dir):  # as a running bot does
        busy = import_file(data_dir, GOOD)
    assert busy.returncode == 2
    assert "in use by another Guardbot process" in busy.stderr
    assert not (data_dir / "guardbot.db").exists()

    keyless = tmp_path / "keyless"
    result = import_file(keyless, GOOD)
    assert result.returncode == 2
    assert "guardbot keys init" in result.stderr
    assert not (keyless / "guardbot.db").exists()
