"""Keys: generated only on a truly first run, never replacing a lost key next to existing data, written
crash-safely (temp file, fsync, link) with private modes."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from bot import keys as keys_module
from bot.keys import init_keys, load_keys
from config import ConfigError, Settings
from tests.helpers import make_settings


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make_settings` reads the environment for what it does not set: clear every Settings variable."""
    fields = {name.upper() for name in Settings.model_fields}
    for name in list(os.environ):
        if name.upper() in fields:
            monkeypatch.delenv(name)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_files(settings: Settings) -> tuple[Path, Path]:
    return settings.resolved_signing_key_path, settings.resolved_data_key_path


def test_first_run_generates_private_keys_and_reuses_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    first = load_keys(settings)
    for path in key_files(settings):
        assert mode(path) == 0o600
    again = load_keys(settings)
    assert again.data_key == first.data_key
    assert len(first.data_key) == 32


def test_first_run_creates_data_dir_and_its_parents_0700(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "srv" / "data")
    load_keys(settings)
    assert mode(tmp_path / "srv") == 0o700
    assert mode(tmp_path / "srv" / "data") == 0o700
    assert sorted(p.name for p in (tmp_path / "srv" / "data").iterdir()) == ["data_key", "signing_key.pem"]


def test_configured_but_missing_key_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", signing_key_path=tmp_path / "mounted" / "key.pem")
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert caught.value.variable == "SIGNING_KEY_PATH"
    assert "guardbot keys init" in str(caught.value)
    assert not (tmp_path / "mounted").exists()
    assert not (tmp_path / "data").exists()


def test_without_create_nothing_is_generated(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    with pytest.raises(ConfigError) as caught:
        load_keys(settings, create=False)
    assert caught.value.variable == "SIGNING_KEY_PATH"
    assert not (tmp_path / "data").exists()


def test_keys_init_creates_configured_paths_and_never_overwrites(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, data_key_path=tmp_path / "k" / "data.key")
    created = init_keys(settings)
    assert tmp_path / "k" / "data.key" in created
    assert mode(tmp_path / "k") == 0o700
    assert mode(tmp_path / "k" / "data.key") == 0o600
    before = (tmp_path / "k" / "data.key").read_bytes()
    assert init_keys(settings) == []
    assert (tmp_path / "k" / "data.key").read_bytes() == before


def create_database(settings: Settings) -> None:
    settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    settings.database_path.write_bytes(b"SQLite format 3\x00")


@pytest.mark.parametrize("lost", ["SIGNING_KEY_PATH", "DATA_KEY_PATH", "both"])
def test_existing_database_with_a_lost_key_is_an_error_and_nothing_is_generated(
    tmp_path: Path, lost: str
) -> None:
    settings = make_settings(tmp_path / "data")
    load_keys(settings)
    create_database(settings)
    signing, data = key_files(settings)
    survivors = {}
    for variable, path in (("SIGNING_KEY_PATH", signing), ("DATA_KEY_PATH", data)):
        if lost in (variable, "both"):
            path.unlink()
        else:
            survivors[path] = path.read_bytes()
    for attempt in (load_keys, init_keys):
        with pytest.raises(ConfigError) as caught:
            attempt(settings)
        expected = "SIGNING_KEY_PATH" if lost == "both" else lost
        assert caught.value.variable == expected
        assert "database already exists" in str(caught.value)
        assert "restore the key from backup" in str(caught.value)
        assert "\n" not in str(caught.value)
    lost_paths = {signing, data} - set(survivors)
    assert not any(path.exists() for path in lost_paths)
    assert {path: path.read_bytes() for path in survivors} == survivors
    assert not [p for p in settings.data_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_configured_database_location_counts_too(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere" / "bot.db"
    settings = make_settings(tmp_path / "data", database_url=f"sqlite:///{database}")
    create_database(settings)
    assert settings.database_path == database
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert "database already exists" in str(caught.value)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("kept", ["signing", "data"])
def test_half_initialised_pair_on_a_fresh_data_dir_needs_keys_init(tmp_path: Path, kept: str) -> None:
    settings = make_settings(tmp_path / "data")
    load_keys(settings)
    signing, data = key_files(settings)
    removed = data if kept == "signing" else signing
    removed.unlink()
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert caught.value.variable == ("DATA_KEY_PATH" if kept == "signing" else "SIGNING_KEY_PATH")
    assert "half-initialised" in str(caught.value)
    assert not removed.exists()
    # The deliberate command completes the pair on a fresh setup.
    assert init_keys(settings) == [removed]
    load_keys(settings)


def test_configured_signing_key_with_default_data_key_needs_keys_init(tmp_path: Path) -> None:
    provisioned = make_settings(tmp_path / "provisioning")
    load_keys(provisioned)
    settings = make_settings(tmp_path / "data", signing_key_path=provisioned.resolved_signing_key_path)
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert caught.value.variable == "DATA_KEY_PATH"
    assert init_keys(settings) == [settings.resolved_data_key_path]
    assert (
        load_keys(settings).signing_key.private_bytes_raw()
        == load_keys(provisioned).signing_key.private_bytes_raw()
    )


def _crash_at_link(settings: Settings) -> None:
    """In a forked child: die (no cleanup, like SIGKILL) right after the first key's temp file is synced."""

    def die(*_: object, **__: object) -> None:
        os._exit(9)

    os.link = die  # only in this forked child
    load_keys(settings)


def test_a_crash_mid_write_leaves_no_key_and_does_not_block_the_next_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    child = multiprocessing.get_context("fork").Process(target=_crash_at_link, args=(settings,))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 9
    signing, data = key_files(settings)
    assert not signing.exists() and not data.exists()
    leftovers = [p for p in settings.data_dir.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and mode(leftovers[0]) == 0o600
    abandoned = leftovers[0].read_bytes()
    # A partial one left by an older crash is not used either.
    (settings.data_dir / ".data_key.abcd1234.tmp").write_bytes(b"guardbot-data-key-v1:AAAA")
    keys = load_keys(settings)
    assert signing.read_bytes() != abandoned
    assert data.read_bytes() != b"guardbot-data-key-v1:AAAA"
    assert load_keys(settings).data_key == keys.data_key


def test_an_existing_key_is_never_overwritten_by_a_concurrent_creator(tmp_path: Path) -> None:
    path = tmp_path / "data_key"
    path.write_bytes(b"first")
    assert keys_module._write_private(path, b"second", "DATA_KEY_PATH") is False
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["data_key"]


@pytest.mark.parametrize("variable", ["SIGNING_KEY_PATH", "DATA_KEY_PATH"])
@pytest.mark.parametrize("content", [b"", b"\n"])
def test_empty_key_file_is_a_clear_error(tmp_path: Path, variable: str, content: bytes) -> None:
    settings = make_settings(tmp_path / "data")
    load_keys(settings)
    path = (
        settings.resolved_signing_key_path
        if variable == "SIGNING_KEY_PATH"
        else settings.resolved_data_key_path
    )
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert caught.value.variable == variable
    assert "is empty (an interrupted write?)" in str(caught.value)
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        (b"garbage", 0o600, "not a Guardbot data key"),
        (b"guardbot-data-key-v1:c2hvcnQ=\n", 0o600, "not a Guardbot data key"),
        (b"guardbot-data-key-v1:" + b"A" * 44 + b"\n", 0o644, "chmod 600"),
        (b"", 0o600, "is empty"),
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


def test_dangling_symlink_is_not_replaced_by_a_new_key(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    settings.data_dir.mkdir()
    settings.resolved_signing_key_path.symlink_to(tmp_path / "unmounted" / "signing.pem")
    with pytest.raises(ConfigError) as caught:
        load_keys(settings)
    assert caught.value.variable == "SIGNING_KEY_PATH"
    assert not settings.resolved_data_key_path.exists()
