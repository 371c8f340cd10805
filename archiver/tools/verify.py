"""``archiver verify DIR``: lint an archive for every defect the site's own generator left in its posts.

One line per problem, ``<path>: <problem>``; exit 0 only when the archive is clean.

- post files: a name that is not ``YYYY-MM-DD-<id>.md`` (Jekyll skips it, e.g. ``-2022….md``
  from an empty date), front matter that is missing, not at byte 0, not valid YAML or lacks
  ``layout``/``title``/``date``, a title that YAML does not read as a string, a date whose
  day (Beijing; for a date without offset, or the day it writes) is not the file name's, a link
  that names another post id;
- the same post id twice, in ``_posts/`` or ``old_post/``;
- bodies with unsafe markup (what ``archiver.format.sanitize`` removes), titles and tags with markup;
- Liquid that Jekyll would evaluate (``{{``/``{%`` not written as a Liquid output of itself);
- categories: a value Jekyll splits into several, a category without its page
  ``category/<slug>.html``, a category page with white space in its name or a title that is
  not the tag of the category's posts (or, without posts, not named by the slug);
- ``--jekyll``: the archive built by real Jekyll (when installed) with strict front matter;
  every error and warning it prints is a problem.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from archiver.format import dates, sanitize
from archiver.format.post import (
    _FRONT,
    LIQUID,
    POST_FILE,
    PostFormatError,
    split_content,
    unescape_liquid,
    unguard_body,
)
from archiver.format.slug import is_valid_slug, slugify
from archiver.store.index import POST_FOLDERS

_RAW = re.compile(r"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}", re.S)
_LIQUID_ESCAPE = re.compile(r"\{\{ '(?:\{\{|\{%)' \}\}")
# An id-like token: letters and digits, at least six of them digits (`NW2022…`, `2021120822…`).
_ID_TOKEN = re.compile(r"[A-Za-z]*(?:[0-9][A-Za-z]*){6,}")
_JEKYLL_PROBLEM = re.compile(r"error|exception|warning|invalid", re.I)

LAYOUTS = {
    "default.html": "<!DOCTYPE html>\n<html><head><title>{{ page.title }}</title></head>"
    "<body><section>{{ content }}</section></body></html>\n",
    "post.html": "---\nlayout: default\n---\n<small>{{ page.date }}</small><h1>{{ page.title }}</h1>\n{{ content }}\n"
    '<small>tags: <em>{{ page.tags | join: "</em> - <em>" }}</em></small>\n'
    '<div class="excerpt">{{ page.excerpt }}</div>\n',
    "category.html": "---\nlayout: default\n---\n<h2>{{ page.title }}</h2>\n"
    '{% for post in site.categories[page.category] %}<a href="{{ post.url }}">{{ post.title }}</a>'
    "{{ post.excerpt }}{% endfor %}\n",
}
CONFIG = "timezone: Asia/Shanghai\nstrict_front_matter: true\nliquid:\n  error_mode: strict\n"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class PostInfo:
    path: str
    post_id: str
    categories: list[str]
    first_tag: str | None


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT.match(text)
    if match is None:
        raise PostFormatError("no front matter at the start of the file" if "---" in text[:200] else "no front matter")
    import yaml  # here, not at the top: every archiver command imports this module to build its help

    try:
        # A safe loader, in C when pyyaml has it.
        data = yaml.load(match.group(1) or "", Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise PostFormatError(f"front matter is not valid YAML: {' '.join(str(exc).split())[:160]}") from None
    if not isinstance(data, dict):
        raise PostFormatError("front matter is not a mapping")
    return data, text[match.end() :]


def _day_of(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return dates.beijing(value if value.tzinfo else value.replace(tzinfo=dt.UTC)).date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dates.parse_time(value, default_tz=dt.UTC).astimezone(dates.BEIJING).date()
        except dates.DateError:
            return None
    return None


def _bare_day_of(value: Any) -> dt.date | None:
    """The day a date without offset writes: the site's first generator named its files after it."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.date()
    if isinstance(value, str) and dates.has_no_offset(value):
        return dates.parse_time(value, default_tz=dt.UTC).date()
    return None


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value).split()


def unescaped_liquid(content: str, data: dict[str, Any]) -> str | None:
    """The first Liquid markup Jekyll would evaluate in ``content``, if any."""
    if data.get("render_with_liquid") is False:
        return None
    rest = _RAW.sub("", _LIQUID_ESCAPE.sub("", content))
    match = LIQUID.search(rest)
    return rest[match.start() : match.start() + 30].splitlines()[0] if match else None


def _ids_in(url: str) -> set[str]:
    """Id-like tokens of a link: its last path segment and query values (``…/<id>.html``, ``?infoCode=<id>``)."""
    parts = urlsplit(url)
    values = [parts.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]] + [v for _, v in parse_qsl(parts.query)]
    return {v for v in values if _ID_TOKEN.fullmatch(v)}


def check_post(path: Path, rel: str) -> tuple[list[Problem], PostInfo | None]:
    problems: list[Problem] = []

    def problem(message: str) -> None:
        problems.append(Problem(rel, message))

    name = POST_FILE.match(path.name)
    if name is None:
        problem("file name is not YYYY-MM-DD-<id>.md: Jekyll does not publish it")
    else:
        try:
            dt.date.fromisoformat(name.group("day"))
        except ValueError:
            problem(f"file name day {name.group('day')} is not a date")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problem("not UTF-8")
        return problems, None
    try:
        data, content = _front_matter(text)
    except PostFormatError as exc:
        problem(str(exc))
        return problems, None
    for key in ("layout", "title", "date"):
        if data.get(key) in (None, ""):
            problem(f"front matter has no {key}")
    title = data.get("title")
    if title not in (None, "") and not isinstance(title, str):
        problem(f"title is not a string: YAML reads {title!r}")
    if isinstance(title, str) and sanitize.sanitize_title(title).changed:
        problem(f"title carries markup: {title[:60]!r}")
    day = _day_of(data.get("date"))
    if data.get("date") not in (None, "") and day is None:
        problem(f"date {data.get('date')!r} is not a time")
    file_days = {day, _bare_day_of(data.get("date"))}
    if day is not None and name is not None and name.group("day") not in {d.isoformat() for d in file_days if d}:
        problem(f"date is {day} (Beijing), the file name says {name.group('day')}")
    tags = _words(data.get("tags"))
    for tag in tags:
        if not sanitize.tag_is_safe(tag):
            problem(f"tag carries markup or quotes: {tag[:60]!r}")
    categories = _words(data.get("categories", data.get("category")))
    if len(categories) > 1:
        problem(f"categories {' '.join(categories)!r} are {len(categories)} categories to Jekyll")
    for category in categories:
        if not is_valid_slug(category):
            problem(f"category {category!r} is not a usable slug")
    if liquid := unescaped_liquid(content, data):
        problem(f"unescaped Liquid in the content: {liquid!r}")
    body, link, _ = split_content(content)
    body, link = unguard_body(body), None if link is None else unescape_liquid(link)
    if found := sanitize.findings(body):
        problem("unsafe markup in the body: " + ", ".join(f"{k} x{n}" for k, n in sorted(found.items())))
    if link and sanitize.is_unsafe_url(link):
        problem(f"unsafe link: {link[:60]!r}")
    if name is not None and link and (ids := _ids_in(link)) and name.group("post_id") not in ids:
        problem(f"the link names another post: {link[:100]}")
    info = PostInfo(rel, name.group("post_id"), categories, tags[0] if tags else None) if name else None
    return problems, info


def check_category_page(path: Path, rel: str, posts: list[PostInfo]) -> Iterator[Problem]:
    slug = path.name.removesuffix(".html")
    if any(ch.isspace() for ch in slug):
        yield Problem(rel, f"category page name {slug!r} holds white space: Jekyll splits it")
    try:
        data, _ = _front_matter(path.read_text(encoding="utf-8"))
    except (PostFormatError, UnicodeDecodeError) as exc:
        yield Problem(rel, str(exc))
        return
    title = data.get("title")
    if data.get("category") != slug:
        yield Problem(rel, f"category is {data.get('category')!r}, the file name says {slug!r}")
    if not isinstance(title, str) or not title:
        yield Problem(rel, "category page has no title")
        return
    tags = {post.first_tag for post in posts if post.first_tag}
    if tags and title not in tags:
        yield Problem(rel, f"title {title!r} is not the tag of its posts ({', '.join(sorted(tags))})")
    elif not tags and not slugify(title).casefold().startswith(slug.casefold()):
        yield Problem(rel, f"title {title!r} does not name the category {slug!r}")


def check_archive(root: Path) -> list[Problem]:
    problems: list[Problem] = []
    by_id: dict[str, list[str]] = defaultdict(list)
    by_category: dict[str, list[PostInfo]] = defaultdict(list)
    for folder in POST_FOLDERS:
        directory = root / folder
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.name.startswith(".") or not path.is_file() or path.suffix not in (".md", ".markdown", ".html"):
                continue
            rel = f"{folder}/{path.name}"
            found, info = check_post(path, rel)
            problems += found
            if info is not None:
                by_id[info.post_id].append(rel)
                for category in info.categories:
                    by_category[category].append(info)
    for post_id, paths in sorted(by_id.items()):
        for other in paths[1:]:
            problems.append(Problem(other, f"post id {post_id} is archived twice: also {paths[0]}"))
    pages = root / "category"
    existing = {p.name.removesuffix(".html"): p for p in pages.glob("*.html")} if pages.is_dir() else {}
    for slug in sorted(by_category):
        if slug not in existing and is_valid_slug(slug):
            problems.append(Problem(f"category/{slug}.html", f"category page missing ({len(by_category[slug])} posts)"))
    for slug, path in sorted(existing.items()):
        problems += check_category_page(path, f"category/{path.name}", by_category.get(slug, []))
    return problems


def jekyll_build(root: Path) -> list[Problem]:
    """Problems real Jekyll reports building the archive; empty when it built cleanly."""
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        print("archiver verify: jekyll is not installed, the Jekyll build is skipped", file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory(prefix="archiver-verify-") as tmp:
        site = Path(tmp) / "site"
        site.mkdir()
        for folder in (*POST_FOLDERS, "category"):
            if (root / folder).is_dir():
                shutil.copytree(root / folder, site / folder, ignore=shutil.ignore_patterns(".*"))
        (site / "_layouts").mkdir()
        for name, layout in LAYOUTS.items():
            (site / "_layouts" / name).write_text(layout, encoding="utf-8")
        (site / "_config.yml").write_text(CONFIG, encoding="utf-8")
        result = subprocess.run(
            [jekyll, "build", "--safe", "--source", str(site), "--destination", str(Path(tmp) / "out")],
            capture_output=True,
            text=True,
            timeout=3600,
        )
    output = (result.stdout + "\n" + result.stderr).splitlines()
    lines = [" ".join(line.split()) for line in output if _JEKYLL_PROBLEM.search(line)]
    problems = [Problem("jekyll", line) for line in lines]
    if result.returncode != 0 and not problems:
        problems.append(Problem("jekyll", f"jekyll build failed with exit code {result.returncode}"))
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("archive", help="the archive folder (it holds _posts/)")
    parser.add_argument("--jekyll", action="store_true", help="also build it with real Jekyll and report its errors")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="archiver verify", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    root = Path(args.archive)
    if not (root / "_posts").is_dir() and not (root / "old_post").is_dir():
        print(f"archiver verify: {root} holds no _posts/ or old_post/", file=sys.stderr)
        return 64
    problems = check_archive(root)
    if args.jekyll:
        problems += jekyll_build(root)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problems in {root}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
