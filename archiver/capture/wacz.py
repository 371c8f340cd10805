"""A WACZ package of the capture (``archiver wacz``): the WARC files, their index and the post pages, in one ZIP.

Built to the WACZ 1.1.1 specification (https://specs.webrecorder.net/wacz/1.1.1/), as py-wacz
lays it out, without needing py-wacz:

- ``archive/<name>.warc.gz`` -- every WARC file of ``<output>/warc/``, STORED (not deflated), so
  a reader can seek to a record by its offset with HTTP range requests;
- ``indexes/index.cdx`` -- the CDXJ index of all of them (the files' own ``.cdxj`` indexes
  merged and sorted; a file without one is indexed here);
- ``pages/pages.jsonl`` -- the ``json-pages-1.0`` header line, then one entry per archived post
  page (from ``.archiver/captures.jsonl``): its URL, the time of the record holding its
  payload, its title and post id;
- ``datapackage.json`` (every other file with its size and SHA-256) and
  ``datapackage-digest.json`` (the SHA-256 of ``datapackage.json``).

A WARC file a run is appending to while the package is built is taken up to its last whole
record, with the index lines of what that part holds. The package is written to a temporary
name and renamed, so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archiver import __version__
from archiver.capture import cdxj
from archiver.capture.warc import MANIFEST
from archiver.capture.warcfile import FOLDER, index_region, whole_end
from archiver.store.runlog import read_runs

WACZ_VERSION = "1.1.1"
INDEX = "indexes/index.cdx"
PAGES = "pages/pages.jsonl"
_CHUNK = 1 << 20


@dataclass
class Package:
    """What was packed: the counts the command prints."""

    path: Path
    warcs: int = 0
    records: int = 0
    pages: int = 0
    bytes: int = 0
    resources: list[dict[str, Any]] = field(default_factory=list)


def _resource_name(path: str) -> str:
    # Frictionless accepts lower-case names of [-a-z0-9._/] only.
    return re.sub(r"[^-a-z0-9._/]", "-", Path(path).name.lower())


def _iso(date: str) -> str:
    """A WARC-Date as the RFC 3339 timestamp pages.jsonl wants (second precision, Z)."""
    stamp = cdxj.timestamp14(date)
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[8:10]}:{stamp[10:12]}:{stamp[12:14]}Z"


def _warc_part(path: Path) -> tuple[int, list[str]]:
    """How many bytes of ``path`` are whole records, and the index lines of those records."""
    lines = cdxj.read(cdxj.index_path(path))
    size = path.stat().st_size
    indexed = min(cdxj.end_of(lines), size)
    end = whole_end(path, indexed) if path.name.endswith(".gz") else size
    kept = [line for line in lines if cdxj.end_of([line]) <= end]
    if indexed < end:
        known = set(kept)
        kept += [line for line in index_region(path, indexed, end) if line not in known]
    return end, kept


def pages(root: Path) -> list[dict[str, Any]]:
    """One entry per archived post page: the last capture ``captures.jsonl`` names for it."""
    found: dict[str, dict[str, Any]] = {}
    for line in read_runs(root / ".archiver" / MANIFEST):
        post = line.get("post") if isinstance(line, dict) else None
        if not isinstance(post, dict) or not post.get("url") or not post.get("date"):
            continue
        entry = {"id": str(line.get("post_id") or post["url"]), "url": post["url"], "ts": _iso(post["date"])}
        if line.get("title"):
            entry["title"] = str(line["title"])
        found[post["url"]] = entry
    return sorted(found.values(), key=lambda entry: (entry["ts"], entry["url"]))


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes, *, stored: bool = False) -> dict[str, Any]:
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    archive.writestr(_info(name), data, compress_type=method)
    return {
        "name": _resource_name(name),
        "path": name,
        "hash": "sha256:" + hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }


def _info(name: str) -> zipfile.ZipInfo:
    now = dt.datetime.now(dt.UTC)
    info = zipfile.ZipInfo(name, (now.year, now.month, now.day, now.hour, now.minute, now.second))
    info.external_attr = 0o644 << 16  # rw-r--r-- once unpacked
    return info


def _copy_warc(archive: zipfile.ZipFile, path: Path, size: int) -> dict[str, Any]:
    """A WARC file's first ``size`` bytes into ``archive/``, STORED, hashed on the way."""
    name = f"archive/{path.name}"
    info = _info(name)
    info.compress_type = zipfile.ZIP_STORED
    digest = hashlib.sha256()
    left = size
    with path.open("rb") as source, archive.open(info, "w", force_zip64=True) as target:
        while left > 0:
            chunk = source.read(min(_CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            target.write(chunk)
            left -= len(chunk)
    return {"name": _resource_name(name), "path": name, "hash": "sha256:" + digest.hexdigest(), "bytes": size - left}


def build(root: Path, output: Path, *, title: str | None = None) -> Package:
    """Write the WACZ of the capture in ``root`` (an archive folder) to ``output``."""
    from archiver.capture.replay import warc_files

    warcs = [path for path in warc_files(root / FOLDER) if path.parent == root / FOLDER]
    if not warcs:
        raise FileNotFoundError(f"{root / FOLDER}: no WARC files (a crawl with --warc writes them)")
    package = Package(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
            lines: list[str] = []
            for path in warcs:
                size, found = _warc_part(path)
                package.resources.append(_copy_warc(archive, path, size))
                lines += found
            package.warcs, package.records = len(warcs), len(lines)
            index = "".join(line + "\n" for line in sorted(set(lines))).encode("utf-8")
            package.resources.append(_write_member(archive, INDEX, index))
            entries = pages(root)
            package.pages = len(entries)
            header = {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
            text = "".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in [header, *entries])
            package.resources.append(_write_member(archive, PAGES, text.encode("utf-8")))
            datapackage: dict[str, Any] = {
                "profile": "data-package",
                "resources": package.resources,
                "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "wacz_version": WACZ_VERSION,
                "software": f"archiver {__version__}",
                "title": title or root.resolve().name,
            }
            if entries:
                datapackage["mainPageURL"], datapackage["mainPageDate"] = entries[-1]["url"], entries[-1]["ts"]
            data = json.dumps(datapackage, indent=2).encode("utf-8")
            _write_member(archive, "datapackage.json", data)
            digest = {"path": "datapackage.json", "hash": "sha256:" + hashlib.sha256(data).hexdigest()}
            _write_member(archive, "datapackage-digest.json", json.dumps(digest, indent=2).encode("utf-8"))
        os.replace(tmp, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    package.bytes = output.stat().st_size
    return package
