"""The CDXJ index next to the WARC files: ``<surt> <14-digit timestamp> {json}`` lines, sorted, one index per file.

pywb and ``cdxj-indexer`` read and write this form: the key is the URL in SURT form (host reversed,
``www.`` and default ports dropped, lower case, query arguments sorted), the timestamp is the
record's ``WARC-Date`` to the second, and the JSON holds what a replay needs to find the record
(``url``, ``mime``, ``status``, ``digest``, ``length``, ``offset``, ``filename``). Revisit records
are indexed with ``mime: warc/revisit``, as ``cdxj-indexer`` does. Each WARC file
``warc/NAME.warc.gz`` has its index ``warc/NAME.cdxj``, rewritten (sorted, atomically) by the run
that appended to the file; pywb's directory index reads every ``.cdxj`` of the folder, so a
collection whose ``index_paths`` and ``archive_paths`` are the archive's ``warc/`` folder serves the
capture without re-indexing anything.

The SURT here is the default of the ``surt`` package (what pywb canonicalizes a lookup with) for
the URLs a crawl records: http(s), ASCII or percent-encoded; session ids in paths are not stripped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archiver.store.atomic import atomic_write

SUFFIX = ".cdxj"
_WWW = re.compile(r"^www\d*\.")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def surt(url: str) -> str:
    """The SURT key pywb looks ``url`` up by: ``com,example)/path?a=1&b=2``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().strip(".")
    host = _WWW.sub("", host)
    key = ",".join(reversed(host.split("."))) if host else ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        key += f":{port}"
    path = (parts.path or "/").lower()
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    key += ")" + path
    query = parts.query.lower()
    if query:
        pairs = sorted(tuple(arg.split("=", 1)) for arg in query.split("&"))
        key += "?" + "&".join("=".join(pair) for pair in pairs)
    return key


def timestamp14(warc_date: str) -> str:
    """``2026-12-01T21:00:00.123Z`` -> ``20261201210000``."""
    return re.sub(r"\D", "", warc_date)[:14].ljust(14, "0")


def line(url: str, warc_date: str, fields: dict[str, Any]) -> str:
    """One index line; ``fields`` in cdxj-indexer's order, every value a string as it writes them."""
    body = {"url": url, **{k: str(v) for k, v in fields.items() if v is not None and v != ""}}
    return f"{surt(url)} {timestamp14(warc_date)} {json.dumps(body)}"


def record_line(record: Any, filename: str, offset: int, length: int) -> str | None:
    """The index line of a warcio record read back (response and revisit records only, as pywb needs)."""
    if record.rec_type not in ("response", "revisit"):
        return None
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    if not url:
        return None
    http = record.http_headers
    status = http.get_statuscode() if http is not None else None
    if record.rec_type == "revisit":
        mime = "warc/revisit"
    else:
        mime = ((http.get_header("Content-Type") if http is not None else None) or "unk").split(";")[0].strip()
    fields = {
        "mime": mime,
        "status": status,
        "digest": headers.get_header("WARC-Payload-Digest"),
        "length": length,
        "offset": offset,
        "filename": filename,
    }
    return line(url, headers.get_header("WARC-Date") or "", fields)


def index_path(warc: Path) -> Path:
    """``warc/NAME.warc.gz`` -> ``warc/NAME.cdxj``."""
    name = warc.name
    for suffix in (".warc.gz", ".warc"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return warc.with_name(name + SUFFIX)


def read(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [entry for entry in text.splitlines() if entry.strip() and not entry.startswith(("!", " CDX"))]


def end_of(lines: Iterable[str]) -> int:
    """Where the last indexed record ends (the largest ``offset + length``); 0 for none."""
    end = 0
    for entry in lines:
        fields = json.loads(entry.split(" ", 2)[2])
        end = max(end, int(fields.get("offset", 0)) + int(fields.get("length", 0)))
    return end


def write(path: Path, lines: Iterable[str], *, fsync: bool = False) -> None:
    """The index, sorted as pywb's binary search needs (plain string order of the lines), atomically."""
    unique = sorted(set(lines))
    atomic_write(path, "".join(entry + "\n" for entry in unique).encode("utf-8"), fsync=fsync)


def entries(lines: Iterable[str]) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """Each line as (key, timestamp, fields)."""
    for entry in lines:
        key, stamp, body = entry.split(" ", 2)
        yield key, stamp, json.loads(body)
