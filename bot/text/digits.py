"""Digits and bidirectional isolates for Persian text (pure string helpers)."""

from __future__ import annotations

FSI, PDI = "\u2068", "\u2069"  # first-strong isolate … pop directional isolate
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_TO_ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def to_ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits → ASCII digits (for parsing typed input)."""
    return text.translate(_TO_ASCII_DIGITS)


def to_persian_digits(text: str) -> str:
    return text.translate(_PERSIAN_DIGITS)
