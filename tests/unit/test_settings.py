"""Settings: every variable of the contract, and bad values stopping the program with one safe line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
SECRET_LOOKING_TOKEN = "999:not-a-valid-token"


def load(**env: str) -> Settings:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return load_settings(env_file=None)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_defaults_match_the_contract() -> None:
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


def test_id_lists_parse_commas_and_spaces() -> None:
    settings = load(ADMIN_IDS="1, 2,3", AGENT_IDS="", COMPLIANCE_IDS="42")
    assert settings.admin_ids == (1, 2, 3)
    assert settings.agent_ids == ()
    assert settings.role_ids()["compliance"] == (42,)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"BOT_TOKEN": SECRET_LOOKING_TOKEN}, "BOT_TOKEN"),
        ({"ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"MARKETING_IDS": "-5"}, "MARKETING_IDS"),
        ({"PUBLIC_BASE_URL": "http://shop.example.com"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "ftp://localhost"}, "PUBLIC_BASE_URL"),
        ({"WEBHOOK_URL": "https://shop.example.com/tg"}, "WEBHOOK_SECRET"),
        ({"WEBHOOK_URL": "https://x.example.com/tg", "WEBHOOK_SECRET": "short"}, "WEBHOOK_SECRET"),
        ({"WEB_PORT": "99999"}, "WEB_PORT"),
        ({"BROADCAST_RATE": "0"}, "BROADCAST_RATE"),
        ({"DATABASE_URL": "postgresql://db/guardbot"}, "DATABASE_URL"),
        ({"TELEGRAM_API_BASE": "not a url"}, "TELEGRAM_API_BASE"),
    ],
)
def test_bad_values_name_the_variable_not_the_value(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(**env)
    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    for value in env.values():
        if len(value) > 6:
            assert value not in message


def test_https_public_url_and_localhost_http_are_fine() -> None:
    assert load(PUBLIC_BASE_URL="https://shop.example.com/").public_base_url == ("https://shop.example.com")
    assert load(PUBLIC_BASE_URL="http://localhost:9000").public_base_url == "http://localhost:9000"


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


def test_env_example_documents_exactly_the_settings() -> None:
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].strip().isupper()
    }
    assert documented == {name.upper() for name in Settings.model_fields}
