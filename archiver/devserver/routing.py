"""How the loopback site server maps a request to a file, and answers conditional requests.

URL to file (the mapping of ``../shared/SITE.md``)::

    /path/                      ->  ROOT/<host>/path/index.html
    /a.html                     ->  ROOT/<host>/a.html
    /dir/name.ext?k=V           ->  ROOT/<host>/dir/name/V.html   (a query of exactly one parameter)

Anything that resolves outside ``ROOT/<host>`` (``..``, symlinks), a query value that is not a
plain file name, or a missing file has no file (None, answered 404).
"""

from __future__ import annotations

import email.utils
import hashlib
import posixpath
import re
import urllib.parse
from pathlib import Path

# Host names become folder names: only plain DNS labels are accepted, so a Host header can never
# name "..", an absolute path or anything with a separator in it.
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
# A query value becomes a file name (``NewsShare/<value>.html``): letters, digits, "_", "-", ".".
_SAFE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def url_to_relpath(path: str, query: str) -> str | None:
    """Map a URL path and query to a file path relative to the host folder, or None (404).

    ``path`` is the raw (percent-encoded) URL path, ``query`` the raw query string.
    """
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        return None  # not UTF-8 once decoded: no file on disk can have that name
    if not decoded.startswith("/") or "\x00" in decoded or "\\" in decoded:
        return None
    # Refuse ".." outright instead of normalizing it away: no page of a static site needs it.
    if ".." in decoded.split("/"):
        return None
    if query:
        return _query_relpath(decoded, query)
    rel = decoded.lstrip("/")
    return rel + "index.html" if rel == "" or rel.endswith("/") else rel


def _query_relpath(decoded_path: str, query: str) -> str | None:
    """``/dir/name.ext?k=V`` -> ``dir/name/V.html``; None unless the query has exactly one safe value."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if len(pairs) != 1 or decoded_path.endswith("/"):
        return None
    value = pairs[0][1]
    if not _SAFE_VALUE.fullmatch(value) or ".." in value:
        return None
    stem = posixpath.splitext(decoded_path)[0].lstrip("/")
    return f"{stem}/{value}.html"


def resolve_file(root: Path, host: str, rel: str) -> Path | None:
    """The path ``ROOT/<host>/<rel>`` resolves to, or None when it escapes ``ROOT/<host>``.

    ``root`` must already be resolved. Symlinks are followed before the containment check, so a
    link pointing outside the host folder is refused like a ``..`` path.
    """
    if not _HOST_NAME.fullmatch(host):
        return None
    base = (root / host).resolve()
    if not base.is_relative_to(root) or not base.is_dir():
        return None
    target = (base / rel).resolve()
    return target if target.is_relative_to(base) else None


def request_host(url: urllib.parse.SplitResult, host_header: str | None) -> str:
    """The host a request is for: from an absolute-form target, else the Host header; no port, lowercase."""
    if url.netloc:
        return (url.hostname or "").lower()
    if not host_header:
        return ""
    # urlsplit strips the port (and copes with "[::1]:80"); .hostname lowercases.
    return (urllib.parse.urlsplit("//" + host_header.strip()).hostname or "").lower()


def etag(body: bytes) -> str:
    # A content hash, not size+mtime: a fresh checkout or copy of a site keeps its validators.
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison of an If-None-Match header against our ETag (RFC 9110, 13.1.2)."""
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in tags or etag in tags


def not_modified_since(header: str, mtime: float) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored, as RFC 9110 13.1.3 requires
    return int(mtime) <= since.timestamp()
