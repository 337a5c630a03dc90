"""Names as they are shown: a file name is bytes that may be anything.

Python reads a file name that is not UTF-8 with its bytes as lone surrogates
(``surrogateescape``), and a name may hold control characters (an escape sequence that
retitles the terminal, a newline that splits a row). The tables keep a name exactly
(the CSV writes its bytes back); what a person reads (the terminal, the report, the
pictures) shows such characters as escapes: ``bad\\xff.wav``, ``two\\nlines.wav``.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the lone surrogates that stand for undecodable bytes
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNPRINTABLE_BUT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if "\udc80" <= char <= "\udcff":  # an undecodable byte (surrogateescape)
        return f"\\x{ord(char) - 0xdc00:02x}"
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) <= 0xFF
                                else f"\\u{ord(char):04x}")


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters and undecodable bytes as escapes (``\\x1b``,
    ``\\n``, ``\\xff``); ``keep_newlines`` keeps line breaks (a message of several
    lines)."""
    pattern = _UNPRINTABLE_BUT_NEWLINE if keep_newlines else _UNPRINTABLE
    return pattern.sub(_escape, text)


def is_printable(text: str) -> bool:
    """Whether :func:`printable` would leave ``text`` as it is."""
    return _UNPRINTABLE.search(text) is None


def unicode_text(text: str) -> str:
    """``text`` as valid Unicode: only the undecodable bytes of a file name escaped
    (``\xff``), for formats whose strings must be UTF-8 (Parquet)."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
