"""Web archive endpoints and their CDX API: where to ask what was captured, and which capture to replay.

Two kinds of Wayback endpoint, told apart by the URL alone:

- a **pywb collection**, ``http://host:8080/<collection>``: CDX at ``<collection>/cdx``, answered as
  newline-delimited JSON objects (``url``, ``timestamp``, ``status``, ``mime``, ``digest``, ...), all
  of it in one answer;
- the **Internet Archive**, ``https://web.archive.org`` (any endpoint URL without a collection path,
  or ending in ``/web``): CDX at ``/cdx/search/cdx``, answered as one JSON array whose first row
  names the fields (``original``, ``statuscode``, ``mimetype``, ...), paged with resume keys
  (``showResumeKey=true``: an empty row, then ``[key]``).

Both replay a raw capture (``id_``: the body as captured, never a rewritten page) at
``<base>/<timestamp>id_/<url>`` (``<base>`` being the collection, or ``/web`` on the Internet Archive).

Which capture: for each URL the latest capture with status 200; captures are matched to requests by
``url_key`` (host and path, whatever the scheme or default port), since a site's links and its
captures need not agree on ``http``/``https``. Pure: no Scrapy, so it is tested on its own.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from archiver.exceptions import SettingError

PYWB = "pywb"
IA = "ia"
# Rows per page of the Internet Archive's CDX listing (its own limit per answer is larger).
IA_PAGE_ROWS = 5000
# The fields asked for, in each dialect's names; parsed by name, so their order does not matter.
_FIELDS = {PYWB: "url,timestamp,status,mime,digest", IA: "original,timestamp,statuscode,mimetype,digest"}
_ALIASES = {"original": "url", "statuscode": "status", "mimetype": "mime"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Capture:
    """One row of a CDX listing."""

    url: str  # the original URL, as captured
    timestamp: str  # 14 digits, UTC
    status: str  # "200"; "-" or "" for revisit records
    digest: str = ""
    mime: str = ""

    @property
    def date(self) -> dt.datetime:
        """The capture time (UTC)."""
        return dt.datetime.strptime(self.timestamp[:14].ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)

    @property
    def warc_date(self) -> str:
        """The capture time as a WARC-Date (``2024-01-01T10:00:00Z``)."""
        return self.date.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Endpoint:
    """A Wayback endpoint: its kind, and the URLs of its CDX API and raw replay."""

    url: str  # as given, without a trailing slash
    kind: str  # PYWB or IA
    root: str  # scheme://host[:port]
    replay_base: str  # <collection>, or <root>/web

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        raw = url.strip()
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingError(
                f"ARCHIVER_WAYBACK_URL={url!r} is not a Wayback endpoint: use http://host:8080/<collection> "
                "(pywb) or https://web.archive.org"
            )
        if parts.query or parts.fragment:
            raise SettingError(f"ARCHIVER_WAYBACK_URL={url!r}: give the endpoint without a query or fragment")
        root = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        path = parts.path.rstrip("/")
        if path in ("", "/web"):
            return cls(root + path, IA, root, f"{root}/web")
        if "/" in path.strip("/"):
            raise SettingError(f"ARCHIVER_WAYBACK_URL={url!r}: a pywb endpoint is http://host:port/<collection>")
        return cls(root + path, PYWB, root, root + path)

    @property
    def host(self) -> str:
        return urlsplit(self.root).netloc

    @property
    def is_internet_archive(self) -> bool:
        return (urlsplit(self.root).hostname or "").endswith("archive.org")

    def cdx_url(self, prefix: str, *, since: str | None = None, resume_key: str | None = None) -> str:
        """The CDX query of every capture under ``prefix`` (``host/path``), from ``since`` (YYYYMMDD) on."""
        params: list[tuple[str, str]] = [("url", prefix), ("matchType", "prefix"), ("output", "json")]
        params.append(("fl", _FIELDS[self.kind]))
        if since:
            params.append(("from", since))
        if self.kind == PYWB:
            return f"{self.replay_base}/cdx?{urlencode(params)}"
        # Asked of the server to keep long listings short; applied again here, whatever it answers.
        params += [("filter", "statuscode:200"), ("collapse", "digest"), ("showResumeKey", "true")]
        params.append(("limit", str(IA_PAGE_ROWS)))
        if resume_key:
            params.append(("resumeKey", resume_key))
        return f"{self.root}/cdx/search/cdx?{urlencode(params)}"

    def replay_url(self, capture: Capture) -> str:
        """The raw (``id_``) replay of a capture: the body as captured, nothing rewritten."""
        return f"{self.replay_base}/{capture.timestamp}id_/{quote(capture.url, safe=_URL_SAFE)}"

    def original_of(self, url: str) -> tuple[str, str] | None:
        """``(timestamp, original URL)`` of a replay URL of this endpoint, else None."""
        prefix = self.replay_base + "/"
        if not url.startswith(prefix):
            # The same endpoint on the other scheme (the Internet Archive redirects to https).
            other = urlsplit(prefix)
            alt = urlunsplit(("https" if other.scheme == "http" else "http", *other[1:]))
            if not url.startswith(alt):
                return None
            prefix = alt
        stamp, sep, original = url[len(prefix) :].partition("/")
        digits = stamp.rstrip("abcdefghijklmnopqrstuvwxyz_")
        if not sep or not digits.isdigit() or not original.startswith(("http://", "https://")):
            return None
        return digits, original


_URL_SAFE = "/:?=&%;,+@!$'()*~#[]"


def url_key(url: str) -> str:
    """What a URL is matched by: lower-case host without a default port, path and query; no scheme."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".")
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    key = f"{host}{parts.path or '/'}"
    return f"{key}?{parts.query}" if parts.query else key


# --- reading CDX answers -----------------------------------------------------------------------------
def _capture(fields: dict[str, str]) -> Capture | None:
    named = {_ALIASES.get(k, k): str(v) for k, v in fields.items()}
    url, stamp = named.get("url", ""), named.get("timestamp", "")
    if not url or not stamp[:14].isdigit():
        return None
    return Capture(url, stamp, named.get("status", ""), named.get("digest", ""), named.get("mime", ""))


def parse_pywb(body: bytes) -> list[Capture]:
    """pywb's answer: one JSON object per line (an empty answer is no capture)."""
    found = []
    for line in body.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict) and (capture := _capture(row)) is not None:
            found.append(capture)
    return found


def parse_ia(body: bytes) -> tuple[list[Capture], str | None]:
    """The Internet Archive's answer: a JSON array, a header row first; then an empty row and ``[resume key]``."""
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return [], None
    rows = json.loads(text)
    if not isinstance(rows, list) or not rows:
        return [], None
    header = [str(name) for name in rows[0]]
    found: list[Capture] = []
    resume: str | None = None
    for i, row in enumerate(rows[1:], 1):
        if not isinstance(row, list):
            continue
        if not row:
            following = rows[i + 1] if i + 1 < len(rows) else None
            if isinstance(following, list) and len(following) == 1:
                resume = str(following[0])
            break
        if (capture := _capture(dict(zip(header, map(str, row), strict=False)))) is not None:
            found.append(capture)
    return found, resume


def parse(kind: str, body: bytes) -> tuple[list[Capture], str | None]:
    """Captures and the resume key (None: the listing is complete) of one CDX answer of ``kind``."""
    if kind == PYWB:
        return parse_pywb(body), None
    return parse_ia(body)


def latest_ok(captures: Iterable[Capture]) -> dict[str, Capture]:
    """For each URL (by ``url_key``) its latest capture with status 200; duplicates by digest collapse into one."""
    chosen: dict[str, Capture] = {}
    for capture in captures:
        if capture.status != "200":
            continue
        key = url_key(capture.url)
        known = chosen.get(key)
        if known is None or capture.timestamp > known.timestamp:
            chosen[key] = capture
    return chosen


def distinct(captures: Iterable[Capture]) -> Iterator[Capture]:
    """The captures less repeats of one URL's same content (same digest): what a listing really holds."""
    seen: set[tuple[str, str]] = set()
    for capture in captures:
        mark = (url_key(capture.url), capture.digest or capture.timestamp)
        if mark not in seen:
            seen.add(mark)
            yield capture
