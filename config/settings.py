"""Settings of the external contract (DESIGN.md), read from the environment or `.env`.

Every variable is documented in `.env.example`. A bad value must stop the program with one line that names
the variable and says what is wrong, never echoing the value: a token or a secret pasted into the wrong
variable must not end up in a terminal scrollback or a log collector.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_CONTENT_PATH = Path(__file__).parent / "content" / "default.toml"

_TOKEN_SHAPE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
_WEBHOOK_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

IdList = Annotated[tuple[int, ...], NoDecode]


class ConfigError(Exception):
    """A setting (or a file a setting points at) is unusable; `str()` is one line safe to print."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


def _check_url(value: str, *, variable: str, allow_plain_http_locally: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http(s) URL (see {variable} in .env.example)")
    if parts.scheme == "http" and not (allow_plain_http_locally and parts.hostname in _LOCAL_HOSTS):
        raise ValueError("must use https (plain http is allowed only for localhost)")
    return value.rstrip("/")


class Settings(BaseSettings):
    """The whole external contract; field names are the environment variables in lower case."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", env_ignore_empty=True, extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    data_dir: Path = Path("data")
    database_url: str | None = None
    content_path: Path = DEFAULT_CONTENT_PATH
    signing_key_path: Path | None = None
    data_key_path: Path | None = None
    public_base_url: str = "http://127.0.0.1:8080"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    admin_ids: IdList = ()
    agent_ids: IdList = ()
    marketing_ids: IdList = ()
    compliance_ids: IdList = ()
    broadcast_rate: float = Field(default=25, gt=0, le=1000)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_SHAPE.match(value.get_secret_value()):
            raise ValueError("malformed token; expected the form 123456:ABC-DEF… that @BotFather gives")
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _api_base(cls, value: str | None) -> str | None:
        if not value:
            return None
        # A self-hosted Bot API server or the emulator often runs on a private network over plain http.
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL such as http://127.0.0.1:8081")
        return value.rstrip("/")

    @field_validator("public_base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _check_url(value, variable="PUBLIC_BASE_URL", allow_plain_http_locally=True)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        return _check_url(value, variable="WEBHOOK_URL", allow_plain_http_locally=True)

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not _WEBHOOK_SECRET_SHAPE.match(value.get_secret_value()):
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith("sqlite:///") or len(value) == len("sqlite:///"):
            raise ValueError("only sqlite:///PATH is supported in this version")
        return value

    @field_validator("admin_ids", "agent_ids", "marketing_ids", "compliance_ids", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        ids = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            if not part.isdigit() or int(part) == 0:
                raise ValueError("must be a comma-separated list of numeric Telegram user ids")
            ids.append(int(part))
        return tuple(ids)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        return self

    @property
    def database_path(self) -> Path:
        if self.database_url:
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.data_dir / "guardbot.db"

    @property
    def resolved_signing_key_path(self) -> Path:
        return self.signing_key_path or self.data_dir / "signing_key.pem"

    @property
    def resolved_data_key_path(self) -> Path:
        return self.data_key_path or self.data_dir / "data_key"

    def role_ids(self) -> dict[str, tuple[int, ...]]:
        """The role grants the operator configured, by role name."""
        return {
            "admin": self.admin_ids,
            "agent": self.agent_ids,
            "marketing": self.marketing_ids,
            "compliance": self.compliance_ids,
        }


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read settings, turning validation errors into one printable `ConfigError`."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"] and message.split(" ", 1)[0].isupper():
            variable, _, message = message.partition(" ")
        raise ConfigError(variable, message) from None
