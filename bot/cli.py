"""`guardbot` / `python -m bot`: the operator's commands (DESIGN.md, "Commands of the program").

Exit codes: 0 success (for `audit verify`: intact), 1 failure (`audit verify`: not intact), 2 unusable input
(a setting, a file given on the command line, a customer file with a bad row). Heavy imports happen inside
each command, after its input is checked, so a typo fails fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import gc
import io
import logging
import re
import sys
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import CatalogError, GuardbotError, SchemaError
from config import ConfigError, Settings, load_settings

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guardbot", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (polling, or webhook when WEBHOOK_URL is set)")
    shell = commands.add_parser(
        "shell", help="chat with the real bot in the terminal, against the built-in Bot API emulator"
    )
    shell.add_argument("--data-dir", type=Path, help="keep state here (default: a temporary dir)")

    content = commands.add_parser("content", help="the approved content catalog")
    content_commands = content.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = content_commands.add_parser("check", help="validate the catalog, print what is served")
    check.add_argument("--path", type=Path, help="catalog file (default: CONTENT_PATH)")

    keys = commands.add_parser("keys", help="the signing and data keys")
    keys_commands = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    keys_commands.add_parser("init", help="create missing key files (never overwrites)")
    rotate = keys_commands.add_parser("rotate", help="replace the signing and data keys (bot stopped)")
    which = rotate.add_mutually_exclusive_group()
    which.add_argument("--signing-only", action="store_true", help="rotate only the audit signing key")
    which.add_argument("--data-only", action="store_true", help="rotate only the master data key")

    audit = commands.add_parser("audit", help="the signed audit log")
    audit_commands = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = audit_commands.add_parser(
        "verify", help="verify the log (live), or an export offline with --export and --public-key"
    )
    verify.add_argument("--export", type=Path, help="an export file to verify offline (no database needed)")
    verify.add_argument("--public-key", type=Path, help="pinned verifier keys, one per line")
    verify.add_argument("--checkpoints", type=Path, help="anchored checkpoints (JSON Lines) to check against")
    verify.add_argument("--thorough", action="store_true", help="fully re-check every entry's encoding")
    export = audit_commands.add_parser("export", help="export the log as JSON Lines, for auditors")
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    audit_commands.add_parser("checkpoint", help="print the latest signed checkpoint")

    customers = commands.add_parser("customers", help="customer attributes imported from your CRM")
    customers_commands = customers.add_subparsers(dest="action", required=True, metavar="ACTION")
    customers_import = customers_commands.add_parser(
        "import", help="set time zones and tags from a CSV file (user_id,time_zone,tags); bot stopped"
    )
    customers_import.add_argument("file", metavar="FILE", help="the CSV file, or - for standard input")
    return parser


def _run() -> int:
    settings = load_settings()  # before the heavy imports: a bad setting should fail fast
    from bot.app import create_guardbot
    from bot.lock import hold_data_dir
    from bot.logs import configure_logging
    from bot.runner import run_until_signalled

    configure_logging(logging.INFO)

    async def main() -> None:
        app = await create_guardbot(settings)
        # What start-up built (modules, the catalog, models, caches) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise stall the event loop for a tenth of a second
        # every second or two under load (bench/broadcast.py: gaps in the send pace, then bursts).
        gc.collect()
        gc.freeze()
        await run_until_signalled(app)

    with hold_data_dir(settings.data_dir):
        run_event_loop(main())
    return 0


def run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it exists (aiogram's own "fast" extra): the same asyncio, with the loop and its sockets
    in C, about a tenth less CPU per Bot API call at broadcast pace."""
    if sys.platform == "win32":
        asyncio.run(main)
    else:
        import uvloop

        uvloop.run(main)


def _content_check(path: Path | None) -> int:
    from bot.content import load_catalog
    from bot.content.report import describe_catalog

    catalog_path = path or load_settings().content_path
    try:
        catalog = load_catalog(catalog_path)
    except CatalogError as exc:
        raise ConfigError("CONTENT_PATH", str(exc)) from None
    print(describe_catalog(catalog))
    return 0


def _keys_init() -> int:
    from bot.keys import init_keys

    created = init_keys(load_settings())
    for path in created:
        print(f"created {path}")
    if not created:
        print("both keys already exist; nothing changed")
    return 0


def _keys_rotate(signing: bool, data: bool) -> int:
    settings = load_settings()
    from bot.audit.rotation import rotate_keys
    from bot.clock import SystemClock
    from bot.lock import hold_data_dir

    with hold_data_dir(settings.data_dir):
        rotation = asyncio.run(rotate_keys(settings, SystemClock(), signing=signing, data=data))
    if data:
        print(f"data key rotated; {rotation.rewrapped} content keys rewrapped")
    if rotation.new_verifier_key:
        print("signing key rotated; give auditors the new verifier key (keep the old one pinned too):")
        print(rotation.new_verifier_key)
    return 0


def _input_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(what, f"{path} is not a readable file")
    return path


def _audit_verify(
    export: Path | None, public_key: Path | None, checkpoints: Path | None, thorough: bool
) -> int:
    from bot.audit.verify import VerifyError, load_anchors, load_verifiers, verify_database, verify_export

    try:
        if export is not None:  # offline: no settings, no database
            if public_key is None:
                raise ConfigError("--public-key", "offline verification needs the auditor's pinned keys")
            trusted = load_verifiers(_input_file(public_key, "--public-key"))
            anchors = load_anchors(_input_file(checkpoints, "--checkpoints")) if checkpoints else []
            report = verify_export(
                _input_file(export, "--export"),
                trusted,
                anchors,
                thorough=thorough,
                anchor_source=str(checkpoints or ""),
            )
        else:
            settings = load_settings()
            keys_file = public_key or settings.trusted_keys_path
            trusted = load_verifiers(_input_file(keys_file, "--public-key"))
            anchor_file = checkpoints or settings.audit_anchor_file
            anchors = load_anchors(anchor_file) if anchor_file and anchor_file.exists() else []
            report = verify_database(
                _input_file(settings.audit_path, "DATA_DIR"),
                trusted,
                anchors,
                thorough=thorough,
                anchor_source=str(anchor_file or ""),
            )
    except VerifyError as exc:
        raise ConfigError("input", str(exc)) from None
    print(report.summary())
    return 0 if report.ok else EXIT_FAILED


def _audit_export(out: Path) -> int:
    settings = load_settings()
    from bot.audit.export import export_log

    keys = [line.strip() for line in _input_file(settings.trusted_keys_path, "DATA_DIR").read_text().split()]
    summary = export_log(_input_file(settings.audit_path, "DATA_DIR"), out, keys)
    print(
        f"exported {summary.entries} entries, {summary.contents} content blobs, "
        f"{summary.checkpoints} checkpoints to {out}"
    )
    print("verifier keys (auditors must get these from you out of band, and pin them):")
    for key in keys:
        print(key)
    return 0


def _audit_checkpoint() -> int:
    settings = load_settings()
    from bot.storage.audit import connect_read_only, read_checkpoints

    conn = connect_read_only(_input_file(settings.audit_path, "DATA_DIR"))
    try:
        checkpoints = read_checkpoints(conn)
    finally:
        conn.close()
    if not checkpoints:
        print("no checkpoint yet", file=sys.stderr)
        return EXIT_FAILED
    print(checkpoints[-1][1], end="")
    return 0


CUSTOMER_COLUMNS = ("user_id", "time_zone", "tags")
_USER_ID = re.compile(r"[0-9]{1,16}")  # as for the *_IDS settings: 16 digits bound the parse
_MAX_USER_ID = 2**52  # Telegram user ids are positive and below 2**52


@dataclass(frozen=True)
class CustomerAttributes:
    """One valid row of a customer import."""

    user_id: int
    time_zone: str | None
    tags: frozenset[str]


def read_customers(text: str) -> tuple[list[CustomerAttributes], list[str]]:
    """The rows of a customer CSV, or (when any is bad) none and one problem per bad cell.

    Every row is checked before anything is written, so a bad file changes nothing. A problem names the
    line and the column but never quotes the value: the file is the operator's CRM export, and what it
    holds about a person stays out of terminals and CI logs. Not even the header is quoted, since a file
    without one starts with a customer.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[CustomerAttributes] = []
    problems: list[str] = []
    columns: dict[str, int] | None = None
    seen: dict[int, int] = {}
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1  # a quoted cell may span lines: name the first
            if not any(cell.strip() for cell in record):
                continue  # blank lines, and the ",," rows spreadsheets leave at the end
            if columns is None:
                columns = _customer_columns(record)
                if columns is None:
                    return [], [
                        f"line {line}: the header must name the columns {', '.join(CUSTOMER_COLUMNS)}, "
                        "each once, and no others"
                    ]
                continue
            row, found = _customer_row(record, columns, line, seen)
            problems.extend(found)
            if row is not None:
                seen[row.user_id] = line
                rows.append(row)
    except csv.Error:
        problems.append(f"line {reader.line_num}: not valid CSV (a stray or unclosed quote?)")
    if columns is None and not problems:
        problems.append(f"line 1: no header (expected the columns {', '.join(CUSTOMER_COLUMNS)})")
    return ([] if problems else rows), problems


def _customer_columns(header: list[str]) -> dict[str, int] | None:
    """Where each column is (any order, any case), or None unless the header names exactly ours."""
    names = [name.strip().lower() for name in header]
    if sorted(names) != sorted(CUSTOMER_COLUMNS):
        return None
    return {name: names.index(name) for name in CUSTOMER_COLUMNS}


def _customer_row(
    record: list[str], columns: dict[str, int], line: int, seen: dict[int, int]
) -> tuple[CustomerAttributes | None, list[str]]:
    from flows.broadcasts import known_zone, parse_tags

    if len(record) != len(columns):
        return None, [f"line {line}: {len(record)} fields, expected {len(columns)}"]
    user_id_cell, zone_cell, tags_cell = (record[columns[name]].strip() for name in CUSTOMER_COLUMNS)
    problems = []
    user_id = int(user_id_cell) if _USER_ID.fullmatch(user_id_cell) else 0
    if not 0 < user_id < _MAX_USER_ID:
        problems.append(f"line {line}, user_id: not a Telegram user id (a whole number from 1 to 2^52-1)")
    elif user_id in seen:
        problems.append(f"line {line}, user_id: the same customer as on line {seen[user_id]}")
    if zone_cell and not known_zone(zone_cell):
        problems.append(f"line {line}, time_zone: not an IANA time zone name (such as Europe/Berlin)")
    tags = parse_tags(",".join(tags_cell.split()))  # separated by ";" or by spaces inside the cell
    if tags is None:
        problems.append(
            f"line {line}, tags: each tag is a-z, 0-9, _ or - (up to 32 characters), separated by ; or spaces"
        )
    if problems or tags is None:
        return None, problems
    return CustomerAttributes(user_id, zone_cell or None, tags), []


def _customers_import(file: str) -> int:
    """`guardbot customers import FILE`: all rows or none, then one audit entry with the count."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else _input_file(Path(file), "FILE").read_bytes()
        text = data.decode("utf-8-sig")  # spreadsheet programs often write a byte-order mark
    except UnicodeDecodeError:
        raise ConfigError("FILE", "not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError("FILE", f"cannot read {file} ({exc.strerror})") from None
    rows, problems = read_customers(text)
    if problems:
        for problem in problems:
            print(f"guardbot: {problem}", file=sys.stderr)
        print(f"guardbot: {len(problems)} problem(s); nothing was imported", file=sys.stderr)
        return EXIT_CONFIG
    settings = load_settings()
    from bot.lock import hold_data_dir

    with hold_data_dir(settings.data_dir):
        asyncio.run(_write_customers(settings, rows))
    print(f"imported {len(rows)} customer{'' if len(rows) == 1 else 's'}")
    return 0


async def _write_customers(settings: Settings, rows: Sequence[CustomerAttributes]) -> None:
    """Write the rows, then record the import. The entry says what was done, so it comes after the
    writes; an interrupted import left some rows and no entry, and running it again (it sets, never adds)
    completes it and logs it. The entry holds the count only: the attributes themselves are personal."""
    from bot.app import open_audit
    from bot.clock import SystemClock
    from bot.keys import load_keys
    from bot.storage import SqliteRepository, open_database

    clock = SystemClock()
    keys = load_keys(settings, create=False)  # before the database: a first run must not look keyless
    async with contextlib.AsyncExitStack() as stack:
        repository = SqliteRepository(
            await open_database(settings.database_path, clock.now(), secure_delete=True)
        )
        stack.push_async_callback(repository.close)
        audit = await open_audit(settings, keys, clock, stack)
        now = clock.now()
        for row in rows:
            await repository.set_customer_attributes(
                row.user_id, time_zone=row.time_zone, tags=row.tags, now=now
            )
        await audit.record("customers.imported", data={"rows": len(rows)}, critical=True)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run()
    if args.command == "shell":
        from bot.shell import run_shell

        return run_shell(args.data_dir)
    if args.command == "content":
        return _content_check(args.path)
    if args.command == "customers":
        return _customers_import(args.file)
    if args.command == "keys":
        if args.action == "init":
            return _keys_init()
        return _keys_rotate(signing=not args.data_only, data=not args.signing_only)
    if args.action == "verify":
        return _audit_verify(args.export, args.public_key, args.checkpoints, args.thorough)
    if args.action == "export":
        return _audit_export(args.out)
    return _audit_checkpoint()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (ConfigError, SchemaError) as exc:
        print(f"guardbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except GuardbotError as exc:
        print(f"guardbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
