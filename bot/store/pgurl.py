"""``DATABASE_URL`` as Heroku writes it: ``postgres://user:password@host:port/dbname?sslmode=…``.

libpq reads ``postgres://`` and ``postgresql://`` URLs itself (query parameters such as
``sslmode=require`` included); this module checks the shape, adds the connection settings the
bot relies on (without overriding any the URL sets), and describes the database without its
password.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

SCHEMES = ("postgres", "postgresql")

#: Settings the URL may override: a dead server is noticed within seconds, not after TCP's
#: default of minutes, so a write fails (and is reported) instead of hanging the bot.
DEFAULTS: dict[str, str | int] = {
    "connect_timeout": 5,
    "application_name": "resont-miogram-bot",
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}


def is_database_url(value: str) -> bool:
    return urlsplit(value.strip()).scheme.lower() in SCHEMES


@dataclass(frozen=True)
class DatabaseUrl:
    """A PostgreSQL URL. ``str()`` and ``repr()`` never show the password."""

    url: str

    @classmethod
    def parse(cls, value: str) -> DatabaseUrl:
        """Check ``value``; ValueError (one line, no password) if it is not a PostgreSQL URL."""
        value = value.strip()
        scheme = urlsplit(value).scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(f"DATABASE_URL must start with postgres:// or postgresql:// (got {scheme or 'no'} scheme)")
        try:
            conninfo_to_dict(value)
        except psycopg.ProgrammingError:
            raise ValueError("DATABASE_URL is not a valid PostgreSQL URL") from None
        return cls(value)

    def fields(self) -> dict[str, str]:
        return {k: str(v) for k, v in conninfo_to_dict(self.url).items() if v is not None}

    def conninfo(self) -> str:
        """The libpq connection string: the URL's settings plus :data:`DEFAULTS`."""
        given = self.fields()
        extra = {k: v for k, v in DEFAULTS.items() if k not in given}
        if str(given.get("host", "")).startswith("/"):
            extra.pop("tcp_user_timeout", None)  # a Unix socket has no TCP settings
        return make_conninfo(self.url, **extra)

    @property
    def password(self) -> str | None:
        return self.fields().get("password")

    def describe(self) -> str:
        """``PostgreSQL user@host:port/dbname (sslmode=require)``, without the password."""
        f = self.fields()
        where = f"{f.get('host') or 'localhost'}:{f.get('port') or 5432}/{f.get('dbname') or ''}"
        who = f"{f['user']}@" if f.get("user") else ""
        ssl = f" (sslmode={f['sslmode']})" if f.get("sslmode") else ""
        return f"PostgreSQL {who}{where}{ssl}"

    def __str__(self) -> str:
        return self.describe()

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.describe()!r})"
