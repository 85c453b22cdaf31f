"""Settings of the external contract (DESIGN.md), read from the environment or `.env`.

Every variable is documented in `.env.example`. A bad value must stop the program with one line that names
the variable and says what is wrong, never echoing the value: a token or a secret pasted into the wrong
variable must not end up in a terminal scrollback or a log collector. Validators therefore raise only
messages of their own, and anything that could quote the input (`urlsplit`'s port errors, `int()`) is
caught and replaced.

URL rules (all URL settings): an absolute http(s) URL of printable ASCII, a valid host (an IP address in
standard form or a DNS name), no `user:password@`, no query string and no fragment.

- `TELEGRAM_API_BASE`: https anywhere; plain http only when the host is loopback (`localhost`, 127.0.0.0/8,
  ::1), a private or link-local IP address, or a single-label host name such as a docker-compose service
  (`http://telegram-bot-api:8081`). The bot token travels in the URL path, so it must not cross a public
  network in cleartext.
- `PUBLIC_BASE_URL`, `WEBHOOK_URL`: https; plain http only for `localhost`, `127.0.0.1` and `::1`.
  `WEBHOOK_URL` must have a path below the root (the same web server serves `/healthz` and the forms).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import SplitResult, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows.broadcasts import FREE_BROADCAST_RATE, QuietHours, known_zone

DEFAULT_CONTENT_PATH = Path(__file__).parent / "content" / "default.toml"

_TOKEN_SHAPE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
_WEBHOOK_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Telegram user ids are positive and below 2**52 (they fit a double); 16 digits bound the parse.
_ID_SHAPE = re.compile(r"[0-9]{1,16}")
MAX_TELEGRAM_ID = 2**52
_ID_PROBLEM = "must be a comma-separated list of numeric Telegram user ids (whole numbers from 1 to 2^52-1)"
# RFC 1123 host name label; URL hosts may also use `_` (docker-compose service names).
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_URL_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# RFC 3986 path characters (pchar and "/"): no spaces, braces, backslashes or non-ASCII.
_URL_PATH = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")
_WEBHOOK_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]+)+")
_RESERVED_WEB_PATHS = ("/healthz", "/forms")
_UNIQUE_LOCAL_V6 = ipaddress.IPv6Network("fc00::/7")

IdList = Annotated[tuple[int, ...], NoDecode]
WordList = Annotated[tuple[str, ...], NoDecode]
DEFAULT_SENSITIVE_TYPES = (
    "card",
    "cvv",
    "expiry",
    "iban",
    "national_id",
    "passport",
    "password",
    "pin",
    "otp",
    "secret",
)
_KIND_SHAPE = re.compile(r"[a-z][a-z_]{1,31}")
_CONTACT_SHAPE = re.compile(r"[^\s,]{3,254}")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ConfigError(Exception):
    """A setting (or a file a setting points at) is unusable; `str()` is one line safe to print."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


def _ip_address(host: str) -> IpAddress | None:
    """`host` as an IP address, or None for a name; numeric shorthands (`127.1`, `0x7f000001`) are refused."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
    except OSError:
        return None
    # The resolver would read it as an IPv4 address that `ipaddress` does not: ambiguous, so refuse it.
    raise ValueError("IP addresses must be written in standard dotted form, such as 10.0.0.5")


def _is_host_name(host: str, label: re.Pattern[str]) -> bool:
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    # An all-numeric last label is not a name (RFC 3696 §2) and would be read as an address.
    return all(label.fullmatch(part) for part in labels) and not labels[-1].isdigit()


def _is_private_address(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _is_private_address(address.ipv4_mapped)
        # Not `is_private`: for IPv6 it also covers ranges that tunnel to public hosts (Teredo, 2001::/23).
        return address.is_loopback or address.is_link_local or address in _UNIQUE_LOCAL_V6
    return address.is_private or address.is_loopback or address.is_link_local


def _split_url(value: str, example: str) -> tuple[SplitResult, str]:
    """Split an absolute http(s) URL and return it with its host; every message is safe to print."""
    if not value.isascii() or not value.isprintable() or " " in value or "\\" in value:
        raise ValueError(f"must be a URL without spaces, backslashes or non-ASCII characters, e.g. {example}")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValueError(
            f"must be an absolute http(s) URL with a valid host and port, e.g. {example}"
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"must be an absolute http(s) URL, e.g. {example}")
    if "@" in parts.netloc:
        raise ValueError("must not contain a user name or password (user:password@)")
    if "?" in value or "#" in value:
        raise ValueError("must not contain a query string (?…) or a fragment (#…)")
    if port == 0:
        raise ValueError("port must be between 1 and 65535")
    if _ip_address(host) is None and not _is_host_name(host, _URL_LABEL):
        raise ValueError(f"has an invalid host name, e.g. {example}")
    if not _URL_PATH.fullmatch(parts.path):
        raise ValueError("has characters a URL path may not contain")
    return parts, host


def _check_url(value: str, *, variable: str, example: str) -> str:
    """A URL Telegram or a customer's browser reaches: https, plain http only for the local machine."""
    parts, host = _split_url(value, example)
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        raise ValueError(
            f"must use https (plain http is allowed only for localhost; see {variable} in .env.example)"
        )
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
    broadcast_paid: bool = False
    marketing_max_per_week: int = Field(default=2, ge=1, le=100)
    quiet_hours: str = "21:00-09:00"
    default_time_zone: str = "UTC"
    audit_anchor_file: Path | None = None
    audit_anchor_chat_id: int | None = Field(default=None, ge=-(2**53), le=2**53)
    consent_max_age_days: int = Field(default=730, ge=1, le=36500)
    retention_days: int = Field(default=365, ge=1, le=36500)
    mydata_interval_minutes: int = Field(default=60, ge=0, le=10080)
    secure_link_minutes: int = Field(default=15, ge=1, le=1440)
    agent_free_text: str = "allow"
    handoff_escalate_minutes: int = Field(default=15, ge=1, le=10080)
    handoff_idle_minutes: int = Field(default=30, ge=1, le=10080)
    sensitive_types: WordList = DEFAULT_SENSITIVE_TYPES
    published_contacts: WordList = ()

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
        parts, host = _split_url(value, "http://127.0.0.1:8081")
        if parts.scheme == "http":
            address = _ip_address(host)
            # A single-label name (no dot) cannot be a public DNS name: localhost or a compose service.
            local = "." not in host if address is None else _is_private_address(address)
            if not local:
                raise ValueError(
                    "must use https; plain http only for localhost, a private IP address or a single-label"
                    " host such as a docker-compose service (the bot token travels in the URL)"
                )
        return value.rstrip("/")

    @field_validator("public_base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return _check_url(value, variable="PUBLIC_BASE_URL", example="https://forms.example.com")

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        url = _check_url(value, variable="WEBHOOK_URL", example="https://bot.example.com/telegram/webhook")
        path = urlsplit(url).path
        if not path:
            raise ValueError("needs a path below the root, e.g. https://bot.example.com/telegram/webhook")
        if not _WEBHOOK_PATH.fullmatch(path):
            raise ValueError("path may contain only letters, digits, '/', '.', '_', '~' and '-'")
        if any(path == reserved or path.startswith(reserved + "/") for reserved in _RESERVED_WEB_PATHS):
            raise ValueError("path is taken by the built-in web server (/healthz, /forms); choose another")
        return url

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
        path = value.removeprefix("sqlite:///")
        if "?" in value or "#" in value:
            raise ValueError("must be a plain sqlite:///PATH, without ?options or #fragments")
        if path == ":memory:" or path.startswith("file:"):
            raise ValueError(
                "must name a database file; an in-memory database would lose dedup and audit state"
            )
        if path.endswith("/") or not path.isprintable():
            raise ValueError("must name a database file, e.g. sqlite:///data/guardbot.db")
        return value

    @field_validator("web_host")
    @classmethod
    def _web_host(cls, value: str) -> str:
        if _ip_address(value) is None and not _is_host_name(value, _LABEL):
            raise ValueError("must be an IP address (127.0.0.1, 0.0.0.0, ::) or a host name")
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
            if not _ID_SHAPE.fullmatch(part):
                raise ValueError(_ID_PROBLEM)
            ids.append(int(part))
        return tuple(ids)

    @field_validator("admin_ids", "agent_ids", "marketing_ids", "compliance_ids")
    @classmethod
    def _id_range(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 0 < user_id < MAX_TELEGRAM_ID for user_id in value):
            raise ValueError(_ID_PROBLEM)
        return value

    @field_validator("agent_free_text")
    @classmethod
    def _free_text_mode(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in ("allow", "review", "deny"):
            raise ValueError("one of allow, review, deny")
        return mode

    @field_validator("sensitive_types", mode="before")
    @classmethod
    def _kinds(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        kinds = tuple(part.strip().lower() for part in value.split(",") if part.strip())
        if not kinds or not all(_KIND_SHAPE.fullmatch(kind) for kind in kinds):
            raise ValueError("a comma-separated list of kinds such as card,iban,password (see .env.example)")
        return kinds

    @field_validator("published_contacts", mode="before")
    @classmethod
    def _contacts(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        contacts = tuple(part.strip() for part in value.split(",") if part.strip())
        if not all(_CONTACT_SHAPE.fullmatch(contact) for contact in contacts):
            raise ValueError("a comma-separated list of phone numbers and email addresses, without spaces")
        return contacts

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        if value.strip().lower() in ("off", "none"):
            return "00:00-00:00"
        try:
            QuietHours.parse(value)
        except ValueError:
            raise ValueError("must be HH:MM-HH:MM in local time, e.g. 21:00-09:00 (or off)") from None
        return value.strip()

    @field_validator("default_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        if not known_zone(value.strip()):
            raise ValueError("must be an IANA time zone name such as Europe/Berlin or UTC")
        return value.strip()

    @model_validator(mode="after")
    def _free_tier_rate(self) -> Settings:
        """Above about 30 messages per second Telegram bans a bot unless it pays for the excess."""
        if self.broadcast_rate > FREE_BROADCAST_RATE and not self.broadcast_paid:
            raise ValueError(
                f"BROADCAST_RATE above {FREE_BROADCAST_RATE} needs BROADCAST_PAID=true (Telegram's paid"
                " broadcasts, charged in Stars)"
            )
        return self

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        return self

    @model_validator(mode="after")
    def _anchors_live_elsewhere(self) -> Settings:
        """An anchor inside DATA_DIR would be rewritten along with the log it is meant to pin."""
        if self.audit_anchor_chat_id == 0:
            raise ValueError("AUDIT_ANCHOR_CHAT_ID must be a non-zero Telegram chat id")
        anchor = self.audit_anchor_file
        if anchor is not None:
            resolved, data_dir = anchor.resolve(), self.data_dir.resolve()
            if resolved == data_dir or data_dir in resolved.parents:
                raise ValueError("AUDIT_ANCHOR_FILE must be outside DATA_DIR (on another volume, ideally)")
            if anchor.exists() and not anchor.is_file():
                raise ValueError("AUDIT_ANCHOR_FILE must be a file")
        return self

    @property
    def audit_path(self) -> Path:
        return self.data_dir / "audit.db"

    @property
    def keyring_path(self) -> Path:
        return self.data_dir / "keyring.db"

    @property
    def trusted_keys_path(self) -> Path:
        """The audit verifier keys this deployment pins (current and retired), one per line."""
        return self.data_dir / "audit_keys.pub"

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
        raise ConfigError(variable, " ".join(message.split())) from None
