"""`guardbot` / `python -m bot`: the operator's commands (DESIGN.md, "Commands of the program")."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.errors import CatalogError, GuardbotError, SchemaError
from config import ConfigError, load_settings

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guardbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (polling, or webhook when WEBHOOK_URL is set)")
    shell = commands.add_parser(
        "shell",
        help="chat with the real bot in the terminal, against the built-in Bot API emulator",
    )
    shell.add_argument("--data-dir", type=Path, help="keep state here (default: a temporary dir)")
    content = commands.add_parser("content", help="the approved content catalog")
    content_commands = content.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = content_commands.add_parser("check", help="validate the catalog, print what is served")
    check.add_argument("--path", type=Path, help="catalog file (default: CONTENT_PATH)")
    keys = commands.add_parser("keys", help="the signing and data keys")
    keys_commands = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    keys_commands.add_parser("init", help="create missing key files (never overwrites)")
    return parser


def _run() -> int:
    settings = load_settings()  # before the heavy imports: a bad setting should fail fast
    from bot.app import create_guardbot
    from bot.logs import configure_logging
    from bot.runner import run_until_signalled

    configure_logging(logging.INFO)

    async def main() -> None:
        app = await create_guardbot(settings)
        await run_until_signalled(app)

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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run()
        if args.command == "shell":
            from bot.shell import run_shell

            return run_shell(args.data_dir)
        if args.command == "content":
            return _content_check(args.path)
        return _keys_init()
    except (ConfigError, SchemaError) as exc:
        print(f"guardbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except GuardbotError as exc:
        print(f"guardbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
