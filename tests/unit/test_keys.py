from __future__ import annotations

from pathlib import Path

import pytest

from bot.keys import init_keys, load_keys
from config import ConfigError
from tests.helpers import make_settings


def test_first_run_generates_private_keys_and_reuses_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = load_keys(settings)
    for path in (settings.resolved_signing_key_path, settings.resolved_data_key_path):
        assert path.stat().st_mode & 0o777 == 0o600
    again = load_keys(settings)
    assert again.data_key == first.data_key
    assert len(first.data_key) == 32


def test_configured_but_missing_key_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, signing_key_path=tmp_path / "mounted" / "key.pem")
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert caught.value.variable == "SIGNING_KEY_PATH"
    assert not (tmp_path / "mounted" / "key.pem").exists()


def test_keys_init_creates_configured_paths_and_never_overwrites(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, data_key_path=tmp_path / "k" / "data.key")
    created = init_keys(settings)
    assert tmp_path / "k" / "data.key" in created
    before = (tmp_path / "k" / "data.key").read_bytes()
    assert init_keys(settings) == []
    assert (tmp_path / "k" / "data.key").read_bytes() == before


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        (b"garbage", 0o600, "not a Guardbot data key"),
        (b"guardbot-data-key-v1:c2hvcnQ=\n", 0o600, "not a Guardbot data key"),
        (b"guardbot-data-key-v1:" + b"A" * 44 + b"\n", 0o644, "chmod 600"),
    ],
)
def test_bad_data_key_files_are_refused(tmp_path: Path, content: bytes, mode: int, problem: str) -> None:
    key = tmp_path / "data.key"
    key.write_bytes(content)
    key.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        load_keys(make_settings(tmp_path, data_key_path=key))
    assert caught.value.variable == "DATA_KEY_PATH"
    assert problem in str(caught.value)


def test_unreadable_key_file(tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    key.mkdir()  # a directory cannot be read as a file, even by root
    with pytest.raises(ConfigError) as caught:
        load_keys(make_settings(tmp_path, signing_key_path=key))
    assert caught.value.variable == "SIGNING_KEY_PATH"
