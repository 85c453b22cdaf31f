"""Settings: every variable of the contract, and bad values stopping the program with one safe line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
SECRET_LOOKING_TOKEN = "999:not-a-valid-token"
SETTING_VARIABLES = (
    "BOT_TOKEN",
    "TELEGRAM_API_BASE",
    "DATA_DIR",
    "DATABASE_URL",
    "CONTENT_PATH",
    "SIGNING_KEY_PATH",
    "DATA_KEY_PATH",
    "PUBLIC_BASE_URL",
    "WEB_HOST",
    "WEB_PORT",
    "WEBHOOK_URL",
    "WEBHOOK_SECRET",
    "ADMIN_IDS",
    "AGENT_IDS",
    "MARKETING_IDS",
    "COMPLIANCE_IDS",
    "BROADCAST_RATE",
    "BROADCAST_PAID",
    "MARKETING_MAX_PER_WEEK",
    "QUIET_HOURS",
    "DEFAULT_TIME_ZONE",
    "CONSENT_MAX_AGE_DAYS",
    "RETENTION_DAYS",
    "MYDATA_INTERVAL_MINUTES",
    "SENSITIVE_TYPES",
    "SECURE_LINK_MINUTES",
    "AGENT_FREE_TEXT",
    "HANDOFF_ESCALATE_MINUTES",
    "HANDOFF_IDLE_MINUTES",
    "PUBLISHED_CONTACTS",
    "AUDIT_ANCHOR_FILE",
    "AUDIT_ANCHOR_CHAT_ID",
)
HOOK_SECRET = "s3cret-s3cret-s3cret"

Load = Callable[..., Settings]


def clear_settings_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every Settings variable from the environment, in any case (pydantic-settings ignores case)."""
    for name in list(os.environ):
        if name.upper() in SETTING_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_environment(monkeypatch)


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Load:
    """Settings from exactly the given environment variables (no `.env`, nothing inherited)."""

    def _load(**env: str) -> Settings:
        clear_settings_environment(monkeypatch)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return load_settings(env_file=None)

    return _load


def test_the_cleared_variables_are_exactly_the_settings() -> None:
    assert set(SETTING_VARIABLES) == {name.upper() for name in Settings.model_fields}


def test_defaults_match_the_contract(load: Load) -> None:
    settings = load()
    assert settings.bot_token is None
    assert settings.data_dir == Path("data")
    assert settings.database_path == Path("data/guardbot.db")
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.webhook_url is None
    assert settings.broadcast_rate == 25
    assert settings.resolved_signing_key_path == Path("data/signing_key.pem")
    assert settings.content_path.name == "default.toml"


def test_id_lists_parse_commas_and_spaces(load: Load) -> None:
    settings = load(ADMIN_IDS="1, 2,3", AGENT_IDS="", COMPLIANCE_IDS="42")
    assert settings.admin_ids == (1, 2, 3)
    assert settings.agent_ids == ()
    assert settings.role_ids()["compliance"] == (42,)


HUGE_ID = "99999999999999999999999"
BAD_VALUES = [
    ({"BOT_TOKEN": SECRET_LOOKING_TOKEN}, "BOT_TOKEN"),
    # Role id lists: only ASCII digits, positive, below 2**52 (Telegram's bound; SQLite's INTEGER holds it).
    ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
    ({"ADMIN_IDS": "²"}, "ADMIN_IDS"),
    ({"ADMIN_IDS": "7,١٢٣"}, "ADMIN_IDS"),
    ({"ADMIN_IDS": HUGE_ID}, "ADMIN_IDS"),
    ({"AGENT_IDS": "4503599627370496"}, "AGENT_IDS"),
    ({"AGENT_IDS": "0"}, "AGENT_IDS"),
    ({"MARKETING_IDS": "-5"}, "MARKETING_IDS"),
    ({"MARKETING_IDS": "+5"}, "MARKETING_IDS"),
    ({"COMPLIANCE_IDS": "12 34"}, "COMPLIANCE_IDS"),
    ({"COMPLIANCE_IDS": "²"}, "COMPLIANCE_IDS"),
    ({"COMPLIANCE_IDS": HUGE_ID}, "COMPLIANCE_IDS"),
    # Public URLs: https (plain http only for localhost), no userinfo, query or fragment.
    ({"PUBLIC_BASE_URL": "http://shop.example.com"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "http://10.0.0.5:8080"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "ftp://localhost"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://admin:hunter22@shop.example.com"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://shop.example.com/?ref=tg"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://shop.example.com/#forms"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://not a host!/"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://shop.example.com:99999"}, "PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "https://shop.example.com/fo rms"}, "PUBLIC_BASE_URL"),
    ({"WEBHOOK_URL": "https://shop.example.com/tg"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "https://x.example.com/tg", "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"),
    ({"WEBHOOK_URL": "https://hook.shop.test", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://hook.shop.test/", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://hook.shop.test/healthz", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://hook.shop.test/tg/{id}", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://hook.shop.test/tg?k=v", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://hook.shop.test/tg#top", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "https://u:pw@hook.shop.test/tg", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEBHOOK_URL": "http://hook.shop.test/tg", "WEBHOOK_SECRET": HOOK_SECRET}, "WEBHOOK_URL"),
    ({"WEB_PORT": "99999"}, "WEB_PORT"),
    ({"WEB_HOST": "not a host!"}, "WEB_HOST"),
    ({"WEB_HOST": "-leading-dash"}, "WEB_HOST"),
    ({"WEB_HOST": "double..dot"}, "WEB_HOST"),
    ({"WEB_HOST": "[::1]"}, "WEB_HOST"),
    ({"WEB_HOST": "127.1"}, "WEB_HOST"),
    ({"WEB_HOST": "http://0.0.0.0"}, "WEB_HOST"),
    ({"AUDIT_ANCHOR_FILE": "data/anchors.jsonl"}, "AUDIT_ANCHOR_FILE"),
    ({"AUDIT_ANCHOR_FILE": "./data"}, "AUDIT_ANCHOR_FILE"),
    ({"AUDIT_ANCHOR_CHAT_ID": "0"}, "AUDIT_ANCHOR_CHAT_ID"),
    ({"AUDIT_ANCHOR_CHAT_ID": "compliance"}, "AUDIT_ANCHOR_CHAT_ID"),
    ({"BROADCAST_RATE": "-3"}, "BROADCAST_RATE"),
    # Only a durable SQLite file: no in-memory database, no URI options.
    ({"DATABASE_URL": "postgresql://db/guardbot"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///:memory:"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///file::memory:?cache=shared"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///data/guardbot.db?mode=ro"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///data/guardbot.db#x"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:///state/"}, "DATABASE_URL"),
    # The Bot API base: the token travels in its path, so no plain http over a public network.
    ({"TELEGRAM_API_BASE": "not a url"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://api.example.com"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://8.8.8.8:8081"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://100.64.0.1:8081"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://[2001:4860::8888]:8081"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://[::ffff:8.8.8.8]:8081"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://134744072:8081"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "http://0x08080808:8081"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "https://bot:pw@api.example.com"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "https://api.example.com/?region=eu"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "https://api.example.com/#frag"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "https://api.example.com/{token}"}, "TELEGRAM_API_BASE"),
    ({"TELEGRAM_API_BASE": "ftp://127.0.0.1:8081"}, "TELEGRAM_API_BASE"),
]


@pytest.mark.parametrize(("env", "variable"), BAD_VALUES)
def test_bad_values_name_the_variable_not_the_value(load: Load, env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(**env)
    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    assert "invalid literal" not in message
    for value in env.values():
        assert value not in message
    assert HUGE_ID not in message
    assert "²" not in message


def test_https_public_url_and_localhost_http_are_fine(load: Load) -> None:
    assert load(PUBLIC_BASE_URL="https://shop.example.com/").public_base_url == ("https://shop.example.com")
    assert load(PUBLIC_BASE_URL="http://localhost:9000").public_base_url == "http://localhost:9000"
    assert load(PUBLIC_BASE_URL="http://[::1]:9000/").public_base_url == "http://[::1]:9000"
    assert load(PUBLIC_BASE_URL="https://shop.example.com/secure/").public_base_url == (
        "https://shop.example.com/secure"
    )


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:8081",
        "http://127.0.0.2:8081",
        "http://localhost:8081",
        "http://[::1]:8081",
        "http://telegram-bot-api:8081",
        "http://bot_api:8081",
        "http://10.0.0.5:8081",
        "http://172.20.0.3:8081",
        "http://192.168.1.20:8081",
        "http://169.254.10.1:8081",
        "http://[fd12:3456::5]:8081",
        "http://[fe80::1]:8081",
        "https://api.example.com",
        "https://api.telegram.org",
        "https://203.0.113.9:8443/bot-api",
    ],
)
def test_accepted_api_bases(load: Load, base: str) -> None:
    assert load(TELEGRAM_API_BASE=base + "/").telegram_api_base == base


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "127.0.0.1", "::1", "localhost", "bot.internal", "10.1.2.3"]
)
def test_accepted_web_hosts(load: Load, host: str) -> None:
    assert load(WEB_HOST=host).web_host == host


def test_largest_telegram_id_is_accepted(load: Load) -> None:
    assert load(ADMIN_IDS=f"1,{2**52 - 1}").admin_ids == (1, 2**52 - 1)


def test_id_bounds_also_apply_to_values_passed_in_code() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, agent_ids=(2**60,))
    assert caught.value.variable == "AGENT_IDS"


def test_webhook_url_with_a_path(load: Load) -> None:
    settings = load(WEBHOOK_URL="https://bot.example.com/telegram/webhook/", WEBHOOK_SECRET=HOOK_SECRET)
    assert settings.webhook_url == "https://bot.example.com/telegram/webhook"
    local = load(WEBHOOK_URL="http://127.0.0.1:8443/tg", WEBHOOK_SECRET=HOOK_SECRET)
    assert local.webhook_url == "http://127.0.0.1:8443/tg"


def test_database_url_names_a_file(load: Load, tmp_path: Path) -> None:
    assert load(DATABASE_URL="sqlite:///state/bot.db").database_path == Path("state/bot.db")
    absolute = tmp_path / "bot.db"
    assert load(DATABASE_URL=f"sqlite:///{absolute}").database_path == absolute


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": os.environ["PATH"], "HOME": str(cwd), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_token_stops_run_with_exit_2_and_one_line(tmp_path: Path) -> None:
    result = run_cli("run", env={"BOT_TOKEN": SECRET_LOOKING_TOKEN}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "BOT_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr
    assert SECRET_LOOKING_TOKEN not in result.stderr
    assert "not-a-valid-token" not in result.stderr


def test_missing_token_for_run_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli("run", env={"DATA_DIR": str(tmp_path / "d")}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "guardbot: BOT_TOKEN: required to run the bot (or use `guardbot shell`)"
    ]


def test_unreadable_key_file_stops_run(tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    key.write_text("not a key")
    key.chmod(0o600)
    result = run_cli(
        "run",
        env={
            "BOT_TOKEN": "123456:TEST-token-abcdefghijklmnopqrstuvwxyz",
            "DATA_DIR": str(tmp_path / "d"),
            "SIGNING_KEY_PATH": str(key),
        },
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("guardbot: SIGNING_KEY_PATH: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ADMIN_IDS=7,8\n")
    result = run_cli("content", "check", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / ".env").write_text("ADMIN_IDS=seven\n")
    result = run_cli("content", "check", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "ADMIN_IDS" in result.stderr


@pytest.mark.parametrize("value", ["²", HUGE_ID, "1,٣"])
def test_bad_id_stops_the_program_with_one_line_and_exit_2(tmp_path: Path, value: str) -> None:
    result = run_cli("content", "check", env={"ADMIN_IDS": value}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "guardbot: ADMIN_IDS: must be a comma-separated list of numeric Telegram user ids"
        " (whole numbers from 1 to 2^52-1)"
    ]
    assert value not in result.stderr


def test_ambient_settings_do_not_leak_into_load(load: Load, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_HOST", "not a host!")
    monkeypatch.setenv("admin_ids", "junk")  # pydantic-settings matches names case-insensitively
    assert load().web_host == "127.0.0.1"


def test_env_example_documents_exactly_the_settings() -> None:
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].strip().isupper()
    }
    assert documented == {name.upper() for name in Settings.model_fields}


def test_the_default_sensitive_types_are_the_detectors_default_policy() -> None:
    from config.settings import DEFAULT_SENSITIVE_TYPES
    from flows.sensitive import DEFAULT_MUST_NOT_STAY

    assert set(DEFAULT_SENSITIVE_TYPES) == {kind.value for kind in DEFAULT_MUST_NOT_STAY}


def test_sensitive_types_and_published_contacts_are_checked(tmp_path: Path) -> None:
    from bot.app import sensitive_guard

    with pytest.raises(ConfigError) as caught:
        sensitive_guard(Settings(_env_file=None, sensitive_types=("card", "creditcard")))
    assert caught.value.variable == "SENSITIVE_TYPES"
    with pytest.raises(ConfigError) as caught:
        sensitive_guard(Settings(_env_file=None, published_contacts=("not-a-contact",)))
    assert caught.value.variable == "PUBLISHED_CONTACTS"
    guard = sensitive_guard(Settings(_env_file=None, published_contacts=("support@example.com",)))
    assert guard.redact("write to support@example.com") == "write to support@example.com"
