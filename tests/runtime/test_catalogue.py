"""The message catalogue, walked key by key in both languages.

Generic on purpose: every ``bot/runtime/locales/<lang>/*.yaml`` file, present or added later, is checked.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import yaml

from bot.runtime.i18n import LANGUAGES, LOCALES_DIR, Catalogue
from bot.text.digits import FSI, PDI

CATALOGUE = Catalogue.load()
_FORMATTER = string.Formatter()


def fields_of(template: str) -> dict[str, str]:
    """``{name: format_spec}`` of a template's placeholders (``{a.b}``/``{a[0]}`` count as ``a``)."""
    out: dict[str, str] = {}
    for _literal, field, spec, _conversion in _FORMATTER.parse(template):
        if field is not None:
            base = field.split(".")[0].split("[")[0]
            out[base] = spec or ""
    return out


def all_keys() -> list[str]:
    return sorted(set().union(*(CATALOGUE.keys(lang) for lang in LANGUAGES)))


def test_the_catalogue_is_not_empty():
    assert CATALOGUE.keys("en"), "no texts loaded from bot/runtime/locales/en"


def test_every_namespace_file_exists_in_both_languages():
    stems = {lang: {p.stem for p in (LOCALES_DIR / lang).glob("*.yaml")} for lang in LANGUAGES}
    only_en, only_fa = stems["en"] - stems["fa"], stems["fa"] - stems["en"]
    assert not only_en and not only_fa, f"only in en: {only_en}, only in fa: {only_fa}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_file_is_a_mapping_of_texts(lang):
    for file in sorted((LOCALES_DIR / lang).glob("*.yaml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        assert isinstance(data, dict), f"{file}: the top level must be a mapping"


def test_same_keys_in_english_and_persian():
    en, fa = CATALOGUE.keys("en"), CATALOGUE.keys("fa")
    assert not en - fa, f"missing in fa: {sorted(en - fa)}"
    assert not fa - en, f"missing in en: {sorted(fa - en)}"


@pytest.mark.parametrize("key", all_keys())
def test_key_in_both_languages(key):
    """Per key: present, non-empty, same placeholders, and formats with dummy values."""
    templates = {}
    for lang in LANGUAGES:
        assert CATALOGUE.has(key, lang), f"{key} missing in {lang}"
        text = CATALOGUE.raw(key, lang)
        assert text.strip(), f"{key} is empty in {lang}"
        assert text != "None", f"{key} has no value in {lang} (a bare 'key:' in the YAML)"
        try:
            fields = fields_of(text)
        except ValueError as exc:
            pytest.fail(f"{key} ({lang}) is not a valid template: {exc}")
        templates[lang] = (text, fields)
        for name in fields:
            assert name.isidentifier(), f"{key} ({lang}): placeholder {{{name}}} is not a name"

    en_fields, fa_fields = set(templates["en"][1]), set(templates["fa"][1])
    assert en_fields == fa_fields, (
        f"{key}: placeholders only in en {en_fields - fa_fields}, only in fa {fa_fields - en_fields}"
    )

    for lang, (text, fields) in templates.items():
        if not fields:
            # Catalogue.t returns such a text as it is, so a doubled brace would show doubled
            assert "{{" not in text and "}}" not in text, f"{key} ({lang}): '{{{{' shown literally"
            assert CATALOGUE.t(key, lang) == text
            continue
        # Persian values are pre-rendered to isolated strings, so a format spec such as {n:,}
        # would fail there: the catalogue must not use one.
        specs = {name: spec for name, spec in fields.items() if spec}
        assert not specs, f"{key} ({lang}): format specs {specs} break Persian rendering"
        values = {name: 1234 for name in fields}
        rendered = CATALOGUE.t(key, lang, **values)
        for name in fields:
            assert "{" + name + "}" not in rendered
        if lang == "fa":
            assert FSI + "۱٬۲۳۴" + PDI in rendered or FSI + "۱,۲۳۴" + PDI in rendered
        else:
            assert "1234" in rendered or "1,234" in rendered
        rendered_text = CATALOGUE.t(key, lang, **{name: f"value_{name}" for name in fields})
        for name in fields:
            assert f"value_{name}" in rendered_text


def test_persian_values_are_isolated_and_digits_persian():
    catalogue = Catalogue(
        {
            "en": {"x.card": "{user} has {count} new comments on {post}."},
            "fa": {"x.card": "{user} {count} دیدگاه تازه روی {post} دارد."},
        }
    )
    text = catalogue.t("x.card", "fa", user="@john_doe2", count=1234, post="Post #7 (draft)")
    # the username keeps its ASCII digits and its order, inside an isolate
    assert FSI + "@john_doe2" + PDI in text
    # the number is Persian digits, grouped, inside an isolate
    assert FSI + "۱,۲۳۴" + PDI in text
    assert FSI + "Post #7 (draft)" + PDI in text
    # no bare ASCII digit outside an isolate
    outside = text
    for part in (FSI + "@john_doe2" + PDI, FSI + "Post #7 (draft)" + PDI):
        outside = outside.replace(part, "")
    assert not any(c.isascii() and c.isdigit() for c in outside)
    assert text.count(FSI) == text.count(PDI) == 3

    english = catalogue.t("x.card", "en", user="@john_doe2", count=1234, post="Post #7 (draft)")
    assert english == "@john_doe2 has 1,234 new comments on Post #7 (draft)." or english == (
        "@john_doe2 has 1234 new comments on Post #7 (draft)."
    )
    assert FSI not in english


def test_persian_float_and_real_catalogue_value():
    text = CATALOGUE.t("time.err_too_far", "fa", when="2026-12-01 18:30", days=1826)
    assert FSI + "۱,۸۲۶" + PDI in text
    assert FSI + "2026-12-01 18:30" + PDI in text
    assert Catalogue({"en": {"a.b": "{x}"}, "fa": {"a.b": "{x}"}}).t("a.b", "fa", x=2.5) == FSI + "۲.۵" + PDI


def test_locale_files_are_utf8():
    for file in Path(LOCALES_DIR).glob("*/*.yaml"):
        file.read_bytes().decode("utf-8")  # raises if not UTF-8
