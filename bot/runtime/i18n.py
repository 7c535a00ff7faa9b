"""The message catalogue: every user-facing text, in English and Persian.

Texts live in ``bot/runtime/locales/<lang>/<namespace>.yaml``; a key is ``<namespace>.<name>`` (for
example ``core.help_title``). Placeholders use ``str.format`` syntax. In Persian, every
interpolated value is wrapped in Unicode first-strong isolates so that numbers, usernames and
Latin words inside right-to-left text keep their order, and digits are shown as Persian digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.text.digits import FSI, PDI, to_persian_digits

LANGUAGES = ("en", "fa")
LOCALES_DIR = Path(__file__).with_name("locales")


class MissingKey(KeyError):
    """A key is absent from the catalogue: a programming error caught by the catalogue test."""


class Catalogue:
    """All texts of all languages, loaded once at start-up."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]], default: str = "en") -> None:
        self._texts = texts
        self.default = default

    @classmethod
    def load(cls, default: str = "en", directory: Path = LOCALES_DIR) -> Catalogue:
        texts: dict[str, dict[str, str]] = {}
        for lang in LANGUAGES:
            texts[lang] = {}
            for file in sorted((directory / lang).glob("*.yaml")):
                data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
                for name, text in _flatten(data):
                    texts[lang][f"{file.stem}.{name}"] = str(text)
        return cls(texts, default)

    def keys(self, lang: str) -> set[str]:
        return set(self._texts.get(lang, {}))

    def has(self, key: str, lang: str | None = None) -> bool:
        return key in self._texts.get(lang or self.default, {})

    def raw(self, key: str, lang: str | None = None) -> str:
        chosen = lang if lang is not None and lang in self._texts else self.default
        try:
            return self._texts[chosen][key]
        except KeyError:
            try:
                return self._texts["en"][key]
            except KeyError:
                raise MissingKey(key) from None

    def t(self, key: str, lang: str | None = None, /, **values: Any) -> str:
        """The text of ``key`` in ``lang`` with ``values`` filled in."""
        lang = lang or self.default
        template = self.raw(key, lang)
        if not values:
            return template
        if lang == "fa":
            values = {k: _rtl_safe(v) for k, v in values.items()}
        return template.format_map(_Defaulting(values))


def _rtl_safe(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return FSI + to_persian_digits(f"{value:,}" if isinstance(value, int) else f"{value:,.1f}") + PDI
    if isinstance(value, str):
        return FSI + value + PDI
    return value


class _Defaulting(dict[str, Any]):
    """Leaves an unknown placeholder visible instead of raising in the middle of a reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(_flatten(value, f"{name}."))
        else:
            out.append((name, value))
    return out
