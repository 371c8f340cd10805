"""Category slugs: the pinyin of a media name, the way Chinese Jekyll news sites made them.

The rule follows the site's generator: every Chinese character becomes its
pinyin from a per-character table (so 银行 is ``yinxing``, not ``yinhang``),
without tones and without separators; Latin letters and digits stay as they
are. Unlike the generator, characters that would break a file name, a URL or
Jekyll's category splitting (white space, slashes, control characters, YAML
punctuation) are left out, so every slug is safe as ``category/<slug>.html``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

# ASCII punctuation that is harmless in a file name, a URL path and a plain YAML scalar.
_KEPT_PUNCTUATION = frozenset("()-_")
_ASCII_PUNCTUATION = frozenset(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())
# Unicode categories never kept: controls, format characters (zero-width), separators, surrogates, unassigned.
_DROPPED_CATEGORIES = ("C", "Z")
_VALID = re.compile(r"^[^\s/\\]+$")


@functools.lru_cache(maxsize=1)
def _pinyin() -> Any:
    # Loading the table costs ~50 ms: only when the first slug is needed, never at import time.
    from xpinyin import Pinyin

    return Pinyin()


def _keep(char: str) -> bool:
    if char in _KEPT_PUNCTUATION:
        return True
    if char in _ASCII_PUNCTUATION:
        return False
    return not unicodedata.category(char).startswith(_DROPPED_CATEGORIES)


@functools.lru_cache(maxsize=4096)
def slugify(media: str) -> str:
    """The category slug of a media name; empty when nothing usable is left."""
    text = unicodedata.normalize("NFKC", media)
    text = _pinyin().get_pinyin(text, "")
    slug = "".join(char for char in text if _keep(char))
    return slug.lstrip("-_")


def is_valid_slug(slug: str) -> bool:
    """True when ``slug`` can name a category file and a Jekyll category (one word, no path)."""
    return bool(slug) and bool(_VALID.match(slug)) and slug not in {".", ".."} and all(map(_keep, slug))
