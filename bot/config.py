"""Configuration: a flat YAML file overridden by environment variables, validated at start-up.

Every setting has one name. The environment variable is that name in upper case (the operator
contract: ``TELEGRAM_TOKEN``, ``ADMIN_CHAT_ID`` …); the YAML key is the same name in lower case.
No file has to exist: the bot runs on environment variables alone.
"""

from __future__ import annotations

import dataclasses
import os
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from bot.text.window import parse_window


class ConfigError(Exception):
    """A setting is missing or malformed. ``str()`` is one line meant for the operator."""


# --- value parsers: each takes the raw value (str from env, any from YAML) and returns the typed
# value or raises ValueError with a short reason.


def _as_str(raw: Any) -> str:
    if isinstance(raw, (dict, list)):
        raise ValueError("must be a single value, not a list or mapping")
    return str(raw).strip()


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("must be a whole number")
    if isinstance(raw, int):
        return raw
    text = _as_str(raw)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"must be a whole number (got {text!r})") from None


def _as_positive_float(raw: Any) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a positive number")
    try:
        value = float(raw if isinstance(raw, (int, float)) else _as_str(raw))
    except ValueError:
        raise ValueError(f"must be a positive number of seconds (got {raw!r})") from None
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"must be a positive number of seconds (got {raw!r})")
    return value


def _as_name_list(raw: Any) -> tuple[str, ...]:
    items = list(raw) if isinstance(raw, (list, tuple)) else _as_str(raw).replace(";", ",").split(",")
    names = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
    for name in names:
        if any(ch.isspace() for ch in name):
            raise ValueError(f"must be comma-separated names without spaces (bad entry {name!r})")
    return names


def _quiet_hours(raw: Any) -> str:
    text = _as_str(raw).strip()
    if text.lower() in ("", "off", "none", "0"):
        return ""
    start, end = parse_window(text)
    return f"{start:%H:%M}-{end:%H:%M}"


def _as_id_list(raw: Any) -> tuple[int, ...]:
    items: list[Any]
    if isinstance(raw, (list, tuple)):
        items = list(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        items = [raw]
    else:
        items = [part for part in _as_str(raw).replace(";", ",").split(",") if part.strip()]
    ids = []
    for item in items:
        try:
            ids.append(_as_int(item))
        except ValueError:
            raise ValueError(f"must be comma-separated Telegram user ids (bad entry {item!r})") from None
    return tuple(ids)


def _as_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = _as_str(raw).lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"must be true or false (got {raw!r})")


def _as_url(raw: Any) -> str:
    text = _as_str(raw).rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"must be an http:// or https:// URL (got {text!r})")
    return text


def _as_database_url(raw: Any) -> str:
    """A PostgreSQL URL as Heroku writes it; the error never repeats the value (a password)."""
    if urlsplit(text := _as_str(raw)).scheme.lower() not in ("postgres", "postgresql"):
        raise ValueError("must be a postgres:// or postgresql:// URL")
    return text


def _as_timezone(raw: Any) -> str:
    text = _as_str(raw)
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"must be an IANA time zone such as Asia/Tehran (got {text!r})") from None
    return text


def _choice(*allowed: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = _as_str(raw).lower()
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)} (got {raw!r})")
        return text

    return parse


def _int_range(low: int, high: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        value = _as_int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high} (got {value})")
        return value

    return parse


def _optional_int(raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return _as_int(raw)


def _weekly(raw: Any) -> str:
    """``off`` or ``<weekday> HH:MM`` such as ``mon 09:00``."""
    text = _as_str(raw).lower()
    if text in {"", "off", "none", "false"}:
        return ""
    parts = text.split()
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ok = len(parts) == 2 and parts[0][:3] in days and len(parts[1].split(":")) == 2
    if ok:
        hour, minute = parts[1].split(":")
        ok = hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60
    if not ok:
        raise ValueError(f"must be off or a weekday and time such as 'mon 09:00' (got {raw!r})")
    return f"{parts[0][:3]} {int(hour):02d}:{int(minute):02d}"


@dataclass(frozen=True)
class Setting:
    """One configuration value: its name, parser, default and whether it is a secret."""

    name: str
    parse: Callable[[Any], Any]
    default: Any = None
    required: bool = False
    secret: bool = False
    help: str = ""
    explained: bool = False  # the parser's errors never repeat the value: shown even for a secret

    @property
    def env(self) -> str:
        return self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("telegram_token", _as_str, required=True, secret=True, help="the bot token from @BotFather"),
    Setting("telegram_base_url", _as_url, "https://api.telegram.org", help="root of the Bot API server"),
    Setting("admin_chat_id", _as_int, required=True, help="the chat id where cards and alerts go"),
    Setting("admin_ids", _as_id_list, (), required=True, help="comma-separated Telegram user ids of admins"),
    Setting("agent_ids", _as_id_list, (), help="comma-separated Telegram user ids of inbox agents"),
    Setting("author_ids", _as_id_list, (), help="comma-separated Telegram user ids of post authors"),
    Setting("resont_token", _as_str, "", secret=True, help="the Resont API token (token mode)"),
    Setting("resont_base_url", _as_url, "https://api.resont.com/token/v1", help="Resont API base"),
    Setting("resont_client_id", _as_str, "", help="Resont OAuth2 client id (OAuth mode)"),
    Setting("resont_client_secret", _as_str, "", secret=True, help="Resont OAuth2 client secret"),
    Setting("resont_redirect_uri", _as_str, "", help="Resont OAuth2 redirect URI"),
    Setting("resont_oauth_url", _as_url, "https://api.resont.com", help="Resont OAuth2 server root"),
    Setting("resont_refresh_token", _as_str, "", secret=True, help="initial Resont OAuth2 refresh token"),
    Setting("miogram_secret", _as_str, "", secret=True, help="the MioGram secret key"),
    Setting("miogram_url", _as_url, "https://miogram.net/dojob.php", help="MioGram endpoint"),
    Setting("miogram_robot", _as_str, "", help="MioGram sending agent (Robot) name"),
    Setting("miogram_robots", _as_name_list, (), help="comma-separated sending agents used side by side"),
    Setting("miogram_ad_footer", _as_str, "", help="ad footer MioGram appends to messages, if any"),
    Setting("state_path", _as_str, "./state.json", help="path of the state file"),
    Setting("database_url", _as_database_url, "", secret=True, explained=True, help="PostgreSQL for the state"),
    Setting("timezone", _as_timezone, "Asia/Tehran", help="IANA time zone"),
    Setting("language", _choice("en", "fa"), "en", help="interface language"),
    Setting("phone_region", lambda raw: _as_str(raw).upper(), "IR", help="default phone region"),
    Setting("poll_seconds", _as_positive_float, 60.0, help="interval of every Resont poll"),
    Setting("approvals_required", _int_range(1, 50), 1, help="approvals needed per post"),
    Setting(
        "approval_remind_minutes", _int_range(0, 10080), 60, help="remind approvers this long before a draft is due"
    ),
    Setting("mass_batch_size", _int_range(1, 100), 100, help="numbers per MioGram Mass request"),
    Setting("mass_quiet_hours", _quiet_hours, "", help="daily window without mass-send batches, e.g. 21:00-09:00"),
    Setting("log_level", _choice("debug", "info", "warning", "error", "critical"), "info"),
    Setting("port", _optional_int, None, help="port of the Resont webhook receiver (web mode)"),
    Setting("webhook_secret", _as_str, "", secret=True, help="secret path part of the webhook URL"),
    Setting("reject_action", _choice("cancel", "delete"), "cancel", help="what Reject does in Resont"),
    Setting("backfill", _int_range(0, 1000), 0, help="old comments/DMs forwarded on the first start"),
    Setting("topic_approvals", _optional_int, None, help="forum topic id for approval cards"),
    Setting("topic_comments", _optional_int, None, help="forum topic id for comment cards"),
    Setting("topic_dms", _optional_int, None, help="forum topic id for DM cards"),
    Setting("topic_mass", _optional_int, None, help="forum topic id for mass-send progress"),
    Setting("topic_alerts", _optional_int, None, help="forum topic id for alerts"),
    Setting("group_messages_per_minute", _int_range(1, 60), 20, help="sends per minute in the group"),
    Setting("digest_threshold", _int_range(1, 1000), 10, help="backlog size folded into digests"),
    Setting("retention_days", _int_range(1, 3650), 30, help="days closed records are kept"),
    Setting("insights_digest", _weekly, "", help="weekly insights digest, e.g. 'mon 09:00'"),
    Setting("dm_group_seconds", _as_positive_float, 120.0, help="window that groups DMs into one card"),
)


@dataclass(frozen=True)
class Config:
    """The validated settings. Field names are the settings' names."""

    telegram_token: str
    admin_chat_id: int
    admin_ids: tuple[int, ...]
    telegram_base_url: str = "https://api.telegram.org"
    agent_ids: tuple[int, ...] = ()
    author_ids: tuple[int, ...] = ()
    resont_token: str = ""
    resont_base_url: str = "https://api.resont.com/token/v1"
    resont_client_id: str = ""
    resont_client_secret: str = ""
    resont_redirect_uri: str = ""
    resont_oauth_url: str = "https://api.resont.com"
    resont_refresh_token: str = ""
    miogram_secret: str = ""
    miogram_url: str = "https://miogram.net/dojob.php"
    miogram_robot: str = ""
    miogram_robots: tuple[str, ...] = ()
    miogram_ad_footer: str = ""
    state_path: str = "./state.json"
    database_url: str = ""
    timezone: str = "Asia/Tehran"
    language: str = "en"
    phone_region: str = "IR"
    poll_seconds: float = 60.0
    approvals_required: int = 1
    approval_remind_minutes: int = 60
    mass_batch_size: int = 100
    mass_quiet_hours: str = ""
    log_level: str = "info"
    port: int | None = None
    webhook_secret: str = ""
    reject_action: str = "cancel"
    backfill: int = 0
    topic_approvals: int | None = None
    topic_comments: int | None = None
    topic_dms: int | None = None
    topic_mass: int | None = None
    topic_alerts: int | None = None
    group_messages_per_minute: int = 20
    digest_threshold: int = 10
    retention_days: int = 30
    insights_digest: str = ""
    dm_group_seconds: float = 120.0

    @property
    def resont_oauth(self) -> bool:
        """True when the Resont client authenticates with OAuth2 instead of a token."""
        return bool(self.resont_client_id) and not self.resont_token

    @property
    def miogram_enabled(self) -> bool:
        return bool(self.miogram_secret)

    def secrets(self) -> list[str]:
        """Every secret value that is set, for log redaction."""
        values = [getattr(self, s.name) for s in SETTINGS if s.secret and getattr(self, s.name)]
        password = urlsplit(self.database_url).password  # the database's alone, as written and decoded
        return values + ([password, unquote(password)] if password else [])

    def redacted(self) -> dict[str, Any]:
        """The settings with secrets masked: safe to print or log."""
        out = {}
        for s in SETTINGS:
            value = getattr(self, s.name)
            out[s.name] = "***" if s.secret and value else value
        return out

    def __repr__(self) -> str:  # never let a secret reach a log through repr()
        return f"Config({self.redacted()!r})"

    __str__ = __repr__

    def with_overrides(self, **changes: Any) -> Config:
        """A copy with some fields replaced (tests and benchmarks)."""
        return dataclasses.replace(self, **changes)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of setting: value")
    return {str(k).lower(): v for k, v in data.items()}


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (if it exists; required only when given explicitly), apply the environment,
    validate every setting, and return a :class:`Config` or raise :class:`ConfigError`."""
    environ = os.environ if environ is None else environ
    file_values = _file_values(path)
    known = {s.name for s in SETTINGS}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw, source = _raw_value(setting, file_values, environ)
        values[setting.name] = _parse_setting(setting, raw, source)
    if not values["resont_token"] and not values["resont_client_id"]:
        raise ConfigError(
            "RESONT_TOKEN is not set: set the RESONT_TOKEN environment variable (or resont_token "
            "in config.yaml), or configure OAuth with RESONT_CLIENT_ID"
        )
    if values["port"] is not None and not values["webhook_secret"]:
        raise ConfigError("PORT is set but WEBHOOK_SECRET is not: set WEBHOOK_SECRET to protect the webhook URL")
    unknown = sorted(k for k in file_values if k not in known)
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in the config file: check its spelling against config.example.yaml"
        )
    return Config(**values)


def _file_values(path: str | Path | None) -> dict[str, Any]:
    """The config file's settings: ``path`` when given, else ./config.yaml if present."""
    chosen = Path(path) if path is not None else Path("config.yaml")
    return _read_yaml(chosen) if path is not None or chosen.is_file() else {}


def load_state_location(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(database_url, state_path)`` alone, for ``python -m bot state …``; ConfigError as load_config."""
    environ, file_values = os.environ if environ is None else environ, _file_values(path)
    wanted = ("database_url", "state_path")
    found = {s.name: _parse_setting(s, *_raw_value(s, file_values, environ)) for s in SETTINGS if s.name in wanted}
    return found["database_url"], found["state_path"]


def _raw_value(setting: Setting, file_values: Mapping[str, Any], environ: Mapping[str, str]) -> tuple[Any, str]:
    env_value = environ.get(setting.env)
    if env_value is not None and env_value.strip() != "":
        return env_value, f"environment variable {setting.env}"
    if setting.name in file_values and file_values[setting.name] not in (None, ""):
        return file_values[setting.name], f"{setting.name} in the config file"
    return None, ""


def _parse_setting(setting: Setting, raw: Any, source: str) -> Any:
    how = f"set the {setting.env} environment variable (or {setting.name} in config.yaml)"
    if raw is None:
        if setting.required:
            what = f" ({setting.help})" if setting.help else ""
            raise ConfigError(f"{setting.env} is not set{what}: {how}")
        return setting.default
    try:
        value = setting.parse(raw)
    except ValueError as exc:
        # A secret's value is never echoed back, even when it is malformed.
        reason = "is malformed" if setting.secret and not setting.explained else str(exc)
        raise ConfigError(f"{setting.env} {reason} (from {source}): {how}") from None
    if setting.required and value in ("", ()):
        raise ConfigError(f"{setting.env} is empty: {how}")
    return value
