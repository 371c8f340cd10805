"""YAML scalars for front matter that always parse back to the string they were made from.

Jekyll reads front matter with Ruby's Psych, a YAML 1.1 parser like pyyaml;
a plain value is written only when pyyaml gives it back unchanged and it
holds nothing Psych resolves differently (see ``_plain_is_safe``), so
Jekyll reads every value as the string it was made from. Titles are always
written double-quoted (the site's own form); other values plain when that is
safe, quoted otherwise.
"""

from __future__ import annotations

import functools
import re

# Characters a double-quoted YAML scalar cannot hold literally: C0/C1 controls, DEL, the
# characters YAML treats as line breaks (NEL, LS, PS), the BOM, and non-characters.
_ESCAPED = re.compile(r'[\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udfff]')
_NAMED = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        # A lone surrogate cannot be written as UTF-8: it stands for a character lost in decoding.
        return "\ufffd"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def double_quoted(value: str) -> str:
    """``value`` as a YAML double-quoted scalar on one line."""
    return '"' + _ESCAPED.sub(_escape, value) + '"'


# Jekyll reads front matter with Ruby's Psych, which resolves more plain scalars than pyyaml:
# `1,000` and `2022-1-1` are numbers and dates to it, `tRUE` and `nULL` booleans and nulls, and
# `:x` a symbol that Jekyll's safe loader refuses. Such values are always quoted.
_NUMBER_LIKE = re.compile(r"[-+.0-9][-+.,_:0-9a-fA-FxXoObB \t]*")
_KEYWORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


@functools.lru_cache(maxsize=8192)
def _plain_is_safe(value: str) -> bool:
    if not value or value != value.strip() or "\n" in value or _ESCAPED.search(value):
        return False
    if not value[0].isalnum() or _NUMBER_LIKE.fullmatch(value) or value.lower() in _KEYWORDS:
        return False
    import yaml  # here: a run that renders no post (a cron re-run) is spared its import, 0.09 s

    try:
        loaded = yaml.safe_load(f"k: {value}\n")
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("k") == value


def scalar(value: str) -> str:
    """``value`` plain when YAML reads it back as the same string, double-quoted otherwise."""
    return value if _plain_is_safe(value) else double_quoted(value)


def word_list(values: list[str]) -> str:
    """A Jekyll list field (tags, categories): space-separated words, or a flow list when a value has spaces.

    Jekyll splits a string value of ``tags``/``categories`` on white space, so
    values holding white space are written as a YAML list to stay one value each.
    """
    if all(value and not any(ch.isspace() for ch in value) for value in values):
        return scalar(" ".join(values))
    return "[" + ", ".join(double_quoted(value) for value in values) + "]"
