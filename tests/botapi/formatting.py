"""Telegram's text formatting, as the Bot API applies it to ``parse_mode`` texts.

The emulator stores what a Telegram user would see: the text with the markup removed and the
formatting turned into ``entities`` (offsets and lengths in UTF-16 code units). Markup that
Telegram refuses (an unsupported or unclosed HTML tag, a bare ``<``, an unescaped reserved
character in MarkdownV2) is refused here too, with Telegram's ``Bad Request: can't parse
entities: ...`` error, because that is the classic way a bot breaks on user-supplied text.
"""

from __future__ import annotations

import re
from typing import Any


class ParseError(ValueError):
    """The markup is not valid for the parse mode; ``str()`` is Telegram's description tail."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain text, entities) for ``text`` in ``parse_mode`` (None: plain text)."""
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text, []
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown_legacy(text)
    raise ParseError(f"unsupported parse_mode {parse_mode!r}")


# --- HTML ----------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR_RE = re.compile(r"""([a-zA-Z_-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    out_len = 0  # UTF-16 length of out
    stack: list[tuple[str, int, dict[str, Any]]] = []  # (tag, start offset, entity)
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG_RE.match(text, i)
            if not m:
                raise ParseError(
                    f"can't parse entities: Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                )
            closing, name, attrs, _selfclose = m.group(1), m.group(2).lower(), m.group(3), m.group(4)
            if name not in _HTML_TAGS:
                kind = "end" if closing else "start"
                raise ParseError(
                    f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {_byte_offset(text, i)}'
                )
            if closing:
                if not stack or stack[-1][0] != name:
                    expected = f', expected "</{stack[-1][0]}>"' if stack else ""
                    raise ParseError(
                        f"can't parse entities: Unmatched end tag at byte offset {_byte_offset(text, i)}"
                        f'{expected}, found "</{name}>"'
                    )
                tag, start, entity = stack.pop()
                length = out_len - start
                if length > 0 and entity:
                    entity["offset"], entity["length"] = start, length
                    entities.append(entity)
            else:
                parsed = {
                    a.group(1).lower(): a.group(2) or a.group(3) or a.group(4) or "" for a in _ATTR_RE.finditer(attrs)
                }
                entity: dict[str, Any] = {"type": _HTML_TAGS[name]}
                if name == "span" and parsed.get("class") != "tg-spoiler":
                    raise ParseError(
                        f'can\'t parse entities: Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, i)}'
                    )
                if name == "a":
                    href = parsed.get("href", "")
                    uid = re.fullmatch(r"tg://user\?id=(\d+)", href)
                    if uid:
                        entity = {
                            "type": "text_mention",
                            "user": {"id": int(uid.group(1)), "is_bot": False, "first_name": ""},
                        }
                    elif href:
                        entity["url"] = href
                    else:
                        entity = {}
                if name == "blockquote" and "expandable" in parsed:
                    entity["type"] = "expandable_blockquote"
                if name == "tg-emoji":
                    entity["custom_emoji_id"] = parsed.get("emoji-id", "")
                if name == "code" and stack and stack[-1][0] == "pre":
                    # <pre><code class="language-x"> is one pre entity with a language
                    lang = parsed.get("class", "")
                    if lang.startswith("language-") and stack[-1][2]:
                        stack[-1][2]["language"] = lang[len("language-") :]
                    entity = {}
                stack.append((name, out_len, entity))
            i = m.end()
            continue
        if ch == "&":
            m = _ENTITY_RE.match(text, i)
            if m:
                ref = m.group(1)
                if ref in _NAMED:
                    dec = _NAMED[ref]
                elif ref[:2] in ("#x", "#X"):
                    dec = chr(int(ref[2:], 16))
                else:
                    dec = chr(int(ref[1:]))
                out.append(dec)
                out_len += utf16_len(dec)
                i = m.end()
                continue
        out.append(ch)
        out_len += utf16_len(ch)
        i += 1
    if stack:
        raise ParseError(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1][0]}\"")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


# --- MarkdownV2 ----------------------------------------------------------------------------

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": ("bold", "Bold"),
    "_": ("italic", "Italic"),
    "__": ("underline", "Underline"),
    "~": ("strikethrough", "Strikethrough"),
    "||": ("spoiler", "Spoiler"),
}


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    out_len = 0
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, int, int]] = []  # (marker, start offset, byte offset of marker)
    link_stack: list[tuple[int, int]] = []
    i = 0
    n = len(text)

    def emit(s: str) -> None:
        nonlocal out_len
        out.append(s)
        out_len += utf16_len(s)

    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 < n and 1 <= ord(text[i + 1]) <= 126:
                emit(text[i + 1])
                i += 2
                continue
            raise ParseError(
                "can't parse entities: Character '\\' is reserved and must be escaped with the preceding '\\'"
            )
        if ch == "`":
            if text.startswith("```", i):
                end = text.find("```", i + 3)
                if end < 0:
                    raise ParseError(
                        f"can't parse entities: Can't find end of Pre entity at byte offset {_byte_offset(text, i)}"
                    )
                body = text[i + 3 : end]
                language = ""
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and re.fullmatch(r"[\w+#.-]+", first):
                        language, body = first, rest
                body = re.sub(r"\\([`\\])", r"\1", body)
                start = out_len
                emit(body)
                entity = {"type": "pre", "offset": start, "length": out_len - start}
                if language:
                    entity["language"] = language
                if entity["length"]:
                    entities.append(entity)
                i = end + 3
                continue
            j = i + 1
            buf = []
            while j < n and text[j] != "`":
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ParseError(
                    f"can't parse entities: Can't find end of Code entity at byte offset {_byte_offset(text, i)}"
                )
            start = out_len
            emit("".join(buf))
            if out_len > start:
                entities.append({"type": "code", "offset": start, "length": out_len - start})
            i = j + 1
            continue
        if ch == "[":
            link_stack.append((out_len, _byte_offset(text, i)))
            i += 1
            continue
        if ch == "]" and link_stack:
            if i + 1 < n and text[i + 1] == "(":
                end = i + 2
                url_chars = []
                while end < n and text[end] != ")":
                    if text[end] == "\\" and end + 1 < n:
                        url_chars.append(text[end + 1])
                        end += 2
                        continue
                    url_chars.append(text[end])
                    end += 1
                if end >= n:
                    raise ParseError(
                        f"can't parse entities: Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                    )
                start, _ = link_stack.pop()
                url = "".join(url_chars)
                if out_len > start:
                    uid = re.fullmatch(r"tg://user\?id=(\d+)", url)
                    if uid:
                        entities.append(
                            {
                                "type": "text_mention",
                                "offset": start,
                                "length": out_len - start,
                                "user": {"id": int(uid.group(1)), "is_bot": False, "first_name": ""},
                            }
                        )
                    else:
                        entities.append({"type": "text_link", "offset": start, "length": out_len - start, "url": url})
                i = end + 1
                continue
            raise ParseError(
                "can't parse entities: Character ']' is reserved and must be escaped with the preceding '\\'"
            )
        marker = None
        if text.startswith("||", i):
            marker = "||"
        elif text.startswith("__", i):
            marker = "__"
        elif ch in "*_~":
            marker = ch
        if marker:
            if stack and stack[-1][0] == marker:
                _, start, _b = stack.pop()
                if out_len > start:
                    entities.append({"type": _MDV2_NAMES[marker][0], "offset": start, "length": out_len - start})
            elif any(m == marker for m, _, _ in stack):
                raise ParseError(
                    f"can't parse entities: Can't find end of {_MDV2_NAMES[stack[-1][0]][1]} entity at byte offset {stack[-1][2]}"
                )
            else:
                stack.append((marker, out_len, _byte_offset(text, i)))
            i += len(marker)
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            # block quotation: the rest of the line
            line_end = text.find("\n", i)
            line_end = n if line_end < 0 else line_end
            start = out_len
            inner, inner_entities = _parse_markdown_v2(text[i + 1 : line_end])
            for e in inner_entities:
                e["offset"] += start
            emit(inner)
            entities.extend(inner_entities)
            if out_len > start:
                entities.append({"type": "blockquote", "offset": start, "length": out_len - start})
            i = line_end
            continue
        if ch in _MDV2_RESERVED:
            raise ParseError(
                f"can't parse entities: Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if stack:
        marker, _, byte = stack[-1]
        raise ParseError(
            f"can't parse entities: Can't find end of {_MDV2_NAMES[marker][1]} entity at byte offset {byte}"
        )
    if link_stack:
        raise ParseError(f"can't parse entities: Can't find end of a URL at byte offset {link_stack[-1][1]}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


# --- legacy Markdown -----------------------------------------------------------------------

_MD_LEGACY = re.compile(r"\*([^*]+)\*|_([^_]+)_|```(?:\w*\n)?([\s\S]+?)```|`([^`]+)`|\[([^\]]+)\]\(([^)]+)\)")


def _parse_markdown_legacy(text: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    out_len = 0
    entities: list[dict[str, Any]] = []
    pos = 0
    for m in _MD_LEGACY.finditer(text):
        plain = text[pos : m.start()]
        if any(c in plain for c in "*_`["):
            bad = next(c for c in plain if c in "*_`[")
            raise ParseError(
                f"can't parse entities: Can't find end of the entity starting at byte offset "
                f"{_byte_offset(text, pos + plain.index(bad))}"
            )
        out.append(plain)
        out_len += utf16_len(plain)
        if m.group(1) is not None:
            kind, inner, extra = "bold", m.group(1), {}
        elif m.group(2) is not None:
            kind, inner, extra = "italic", m.group(2), {}
        elif m.group(3) is not None:
            kind, inner, extra = "pre", m.group(3), {}
        elif m.group(4) is not None:
            kind, inner, extra = "code", m.group(4), {}
        else:
            kind, inner, extra = "text_link", m.group(5), {"url": m.group(6)}
        entities.append({"type": kind, "offset": out_len, "length": utf16_len(inner), **extra})
        out.append(inner)
        out_len += utf16_len(inner)
        pos = m.end()
    rest = text[pos:]
    if any(c in rest for c in "*_`["):
        bad = next(c for c in rest if c in "*_`[")
        raise ParseError(
            f"can't parse entities: Can't find end of the entity starting at byte offset "
            f"{_byte_offset(text, pos + rest.index(bad))}"
        )
    out.append(rest)
    return "".join(out), entities
