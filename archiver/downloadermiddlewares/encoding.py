"""``EncodingMiddleware``: each page decoded in the encoding its bytes are really in, or not at all.

Scrapy decodes a page in the first encoding it finds named: BOM, HTTP ``Content-Type`` charset,
``<meta>`` declaration, then a guess. Anything that does not fit becomes U+FFFD (``errors='replace'``).
But those names are only claims, and servers and templates get them wrong. A share page in GB18030
served as ``charset=utf-8`` was archived as U+FFFD. A UTF-8 page still labelled
``<meta charset=gb2312>`` was archived as mojibake: GB18030 accepts almost any bytes, so decoding it
that way raised no error. In both cases the bad text replaced good archived files.

The rule (``choose_encoding``). A claim is disproved when the bytes do not decode strictly under it:

1. a BOM decides. It is part of the bytes, and Scrapy decodes by it whatever else is said;
2. bytes that decode strictly as UTF-8 and hold multi-byte sequences are UTF-8, whatever they
   claim. Real GB, Big5 or Shift-JIS text of more than a few characters is almost never also valid
   UTF-8. Pure ASCII is valid in every candidate, so it proves nothing;
3. otherwise the first candidate that decodes the body strictly wins, in this order: the HTTP
   charset, the document's own declarations, UTF-8, then Scrapy's guess (for pages that claim
   nothing). This is Scrapy's order, so a page whose bytes fit its first claim is decoded as
   before;
4. a single-byte encoding (latin-1, cp1252, ...) decodes nearly any bytes, so decoding under it
   proves nothing. It gives way to a later multi-byte candidate that also decodes the body
   strictly. A server's default ``charset=iso-8859-1`` does not beat ``<meta charset=gb2312>``;
5. when no candidate decodes the body strictly, the page is refused (``undecodable``, in the
   ``FailureLog``). It is never parsed, so no post is made from U+FFFD. A share page's post comes
   from its post page, which the exporter writes only where it renders differently from the
   archived file. A post page or listing is not archived, and the next run asks for it again. A
   page whose bytes really encode U+FFFD decodes strictly, so it is kept.

A corrected page goes on as ``response.replace(encoding=...)`` and is counted in
``archiver/pages/encoding_corrected``. The first correction of a run is logged at INFO and the
rest at DEBUG. A misconfigured server produces one correction per page, and cron logs should not
fill up with them.

Cost: a page that Scrapy decodes as UTF-8 without U+FFFD (almost every page) needs only a search
for U+FFFD in the text Scrapy has already decoded for the spider. A page Scrapy decodes cleanly in
another multi-byte encoding also gets one strict UTF-8 decode, which fails at the first non-UTF-8
sequence. Only pages with U+FFFD or a single-byte encoding go through every candidate.
"""

from __future__ import annotations

import codecs
import logging
import re
from functools import lru_cache

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from w3lib.encoding import http_content_type_encoding, read_bom, resolve_encoding

from archiver.crawl.failures import FailureLog
from archiver.crawl.state import shared

logger = logging.getLogger(__name__)

STAT_CORRECTED = "archiver/pages/encoding_corrected"
REASON_UNDECODABLE = "undecodable"

# Declarations are ASCII markup in a page's head: w3lib (and so Scrapy) reads the first 4,096 bytes.
_HEAD_BYTES = 4096
_DECLARATION = re.compile(
    rb"""
      <!--.*?(?:-->|\Z)  # a declaration in a comment declares nothing
    | <meta(?=[\s/])[^>]*?[\s/"';]charset\s*=\s*["']?\s*(?P<meta>[A-Za-z0-9_.:-]+)
    | <\?xml\s[^>]*?encoding\s*=\s*["']\s*(?P<xml>[A-Za-z0-9_.:-]+)
    | (?P<body><body[\s/>])
    """,
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_HIGH_BYTES = bytes(range(0x80, 0x100))
_ASCII_BYTES = bytes(range(0x80))


def _gb18030_strict(error: UnicodeError) -> tuple[str, int]:
    # The Encoding Standard's GB18030 (and so w3lib's decoding) reads a lone 0x80 as the euro sign.
    # Python's codec rejects it, and such a page is not undecodable.
    assert isinstance(error, UnicodeDecodeError)
    if error.object[error.start] == 0x80:
        return "\u20ac", error.start + 1
    raise error


codecs.register_error("archiver_gb18030_strict", _gb18030_strict)


@lru_cache(maxsize=64)
def codec_name(label: str) -> str | None:
    """The codec a label decodes with, as w3lib decodes it (``gb2312`` -> ``gb18030``); None if unknown."""
    name = resolve_encoding(label)
    # w3lib decodes BOM-less UTF-16/32 as big-endian, whatever the platform.
    return f"{name}-be" if name in ("utf-16", "utf-32") else name


@lru_cache(maxsize=64)
def _single_byte(encoding: str) -> bool:
    # One character for every high byte, and most of them real characters: no multi-byte
    # sequences, so nearly any bytes decode. UTF-8 and 7-bit codecs give mostly U+FFFD here.
    decoded = _HIGH_BYTES.decode(encoding, "replace")
    return len(decoded) == len(_HIGH_BYTES) and decoded.count("\ufffd") < len(_HIGH_BYTES) // 2


@lru_cache(maxsize=64)
def _ascii_compatible(encoding: str) -> bool:
    return _ASCII_BYTES.decode(encoding, "replace") == _ASCII_BYTES.decode("ascii")


def decodes(data: bytes, encoding: str) -> bool:
    """True when ``data`` decodes under ``encoding`` without a single error."""
    try:
        data.decode(encoding, "archiver_gb18030_strict" if encoding == "gb18030" else "strict")
    except (UnicodeError, LookupError):
        return False
    return True


def declared_encodings(body: bytes) -> list[str]:
    """The encodings a document declares in its head (``<meta>``, ``<?xml?>``), in document order."""
    found = []
    for match in _DECLARATION.finditer(body, 0, _HEAD_BYTES):
        if match.group("body"):
            break
        label = match.group("meta") or match.group("xml")
        if label and (name := codec_name(label.decode("ascii"))):
            # A document that declares itself in ASCII bytes is not UTF-16: the Encoding Standard
            # reads such a declaration as UTF-8.
            found.append("utf-8" if name.startswith(("utf-16", "utf-32")) else name)
    return found


def candidates(body: bytes, header: str | None, guess: str | None = None) -> list[str]:
    """The encodings to try, in order: the HTTP charset, the document's declarations, UTF-8, the guess."""
    names = [codec_name(label) if label else None for label in (header, *declared_encodings(body), "utf-8", guess)]
    return list(dict.fromkeys(name for name in names if name))


def choose_encoding(
    body: bytes, header: str | None = None, *, guess: str | None = None, known: str | None = None
) -> str | None:
    """The encoding ``body`` is in, by the module's rule; None when no candidate decodes it strictly.

    ``header`` is the HTTP charset, and ``guess`` is Scrapy's choice for the page. ``known`` is
    Scrapy's choice when the caller already knows it decodes ``body`` strictly (its text holds no
    U+FFFD), which saves decoding the body again.
    """
    known = codec_name(known) if known else None

    def strict(data: bytes, encoding: str) -> bool:
        return encoding == known or decodes(data, encoding)

    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return bom_encoding if strict(body[len(bom) :], bom_encoding) else None
    ascii_only = body.isascii()
    if not ascii_only and strict(body, "utf-8"):
        return "utf-8"
    # Scrapy's choice is the first candidate by construction (the same order). If it decodes
    # strictly, only a single-byte choice has anything left to lose.
    if known is not None and _ascii_compatible(known) and (ascii_only or not _single_byte(known)):
        return known
    tried = candidates(body, header, guess)
    first = next((name for name in tried if strict(body, name)), None)
    if first is None or ascii_only or not _single_byte(first):
        return first
    later = tried[tried.index(first) + 1 :]
    return next((name for name in later if not _single_byte(name) and strict(body, name)), first)


def header_charset(response: Response) -> str | None:
    content_type = response.headers.get(b"Content-Type") or b""
    return http_content_type_encoding(content_type.decode("latin-1"))


class EncodingMiddleware:
    """The downloader middleware: corrects the encoding of pages that claim a wrong one, refuses undecodable ones."""

    def __init__(self, crawler: Crawler) -> None:
        assert crawler.stats is not None
        self.stats = crawler.stats
        self.failures = shared(crawler, FailureLog)
        self._logged_once = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status != 200 or not isinstance(response, TextResponse):
            return response
        chosen = response.encoding
        # Text the spider reads anyway (Scrapy caches it): with no U+FFFD the chosen encoding fits.
        clean = "\ufffd" not in response.text
        if clean and codec_name(chosen) == "utf-8":
            return response
        body, header = response.body, header_charset(response)
        best = choose_encoding(body, header, guess=chosen, known=chosen if clean else None)
        if best is None:
            tried = ", ".join(candidates(body, header, chosen))
            self.failures.refused(request.url, REASON_UNDECODABLE, f"valid in none of: {tried}", request)
            raise IgnoreRequest(f"undecodable: not valid in any of {tried}: {request.url}")
        if best == codec_name(chosen):
            return response
        self.stats.inc_value(STAT_CORRECTED)
        level = logging.DEBUG if self._logged_once else logging.INFO
        self._logged_once = True
        logger.log(level, "decoded as %s, not %s: %s", best, chosen, response.url)
        return response.replace(encoding=best)
