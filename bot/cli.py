"""`guardbot` / `python -m bot`: the operator's commands (DESIGN.md, "Commands of the program").

Exit codes: 0 success (for `audit verify`: intact), 1 failure (`audit verify`: not intact), 2 unusable input
(a setting, a file given on the command line). Heavy imports happen inside each command, after its input is
checked, so a typo fails fast.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import CatalogError, GuardbotError, SchemaError
from config import ConfigError, load_settings

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
        await run_until_signalled(app)

    with hold_data_dir(settings.data_dir):
        asyncio.run(main())
    return 0


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


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run()
    if args.command == "shell":
        from bot.shell import run_shell

        return run_shell(args.data_dir)
    if args.command == "content":
        return _content_check(args.path)
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
