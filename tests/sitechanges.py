"""Changed copies of a fixture site, the way real sites change: one function per kind of change.

Each generator rewrites a copy of a site (one folder per host, as ``spiders/demo/site`` and the replica
are laid out) in place; ``changed_copy(site, kind, dest)`` copies and applies one. ``CHANGES``
names every kind with the findings (page class, finding) a crawl must report: on a fresh archive,
and on a re-run over a good archive (which also revalidates the listings earlier runs stored).
A new kind of change is one function and one entry.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SITE_HOST = "finews.withounder.com"
SHARE_HOSTS = ("finews.zning.xyz", "choicewzp1.eastmoney.com")
POST_FILE = re.compile(r"/\d{4}/\d{2}/\d{2}/[^/]+\.html$")
POST_LINK = re.compile(r'href="(/(?:[^/"]+/)*\d{4}/\d{2}/\d{2}/([^/"]+)\.html)"')

WALL = """<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="refresh" content="35"></head>
<body><div class="main-wrapper" role="main"><div class="main-content">
<h1 class="zone-name-title h1">finews.withounder.com</h1>
<h2 class="h2" id="challenge-running">Checking if the site connection is secure</h2>
<noscript><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></noscript>
</div></div></body></html>
"""

PARKING = """<!DOCTYPE html>
<html><head><title>finews.withounder.com - This domain may be for sale</title></head>
<body><div id="parking"><p>This domain is parked free of charge.</p>
<a href="/buy">Buy this domain</a></div></body></html>
"""


def _pages(root: Path, host: str = SITE_HOST) -> Iterator[Path]:
    yield from sorted(p for p in (root / host).rglob("*.html") if p.is_file())


def post_pages(root: Path) -> list[Path]:
    return [p for p in _pages(root) if POST_FILE.search(p.as_posix())]


def listing_pages(root: Path) -> list[Path]:
    return [p for p in _pages(root) if not POST_FILE.search(p.as_posix())]


def share_pages(root: Path) -> list[Path]:
    return [p for host in SHARE_HOSTS for p in _pages(root, host)]


def _rewrite(paths: list[Path], change: Callable[[str], str]) -> None:
    for path in paths:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        path.write_text(change(text), encoding="utf-8", errors="surrogateescape")


def _section(change: Callable[[str], str]) -> Callable[[str], str]:
    """Apply ``change`` to the page's ``<section>`` only (the header has an <h1> of its own)."""

    def apply(text: str) -> str:
        start, stop = text.find("<section>"), text.rfind("</section>")
        return text if start < 0 or stop < 0 else text[:start] + change(text[start:stop]) + text[stop:]

    return apply


# --- the kinds of change ----------------------------------------------------------------------
def title_out_of_h1(root: Path) -> None:
    """A theme change: the post title in ``<h2 class="post-title">`` instead of ``<h1>``."""
    _rewrite(
        post_pages(root),
        _section(lambda s: re.sub(r"<h1>(.*?)</h1>", r'<h2 class="post-title">\1</h2>', s, flags=re.S)),
    )


def time_gone(root: Path) -> None:
    """A theme change: the ``<small>`` with the post's time is no longer printed."""
    _rewrite(post_pages(root), _section(lambda s: re.sub(r"<small>\(GMT\+8[^<]*</small>", "", s)))


def tags_gone(root: Path) -> None:
    """A theme change: the ``<small>tags: …</small>`` line is no longer printed."""
    _rewrite(post_pages(root), _section(lambda s: re.sub(r"<small>tags:.*?</small>", "", s, flags=re.S)))


def permalink_change(root: Path) -> None:
    """Posts move to ``/posts/<id>/`` (Jekyll ``permalink: /posts/:title/``); listings link them so."""
    site = root / SITE_HOST
    for path in post_pages(root):
        target = site / "posts" / path.stem / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    _rewrite(listing_pages(root), lambda s: POST_LINK.sub(r'href="/posts/\2/"', s))


def pretty_permalink(root: Path) -> None:
    """Jekyll's ``permalink: pretty``: posts at ``/<slug>/YYYY/MM/DD/<id>/``; listings link them so."""
    for path in post_pages(root):
        target = path.with_suffix("") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    _rewrite(listing_pages(root), lambda s: POST_LINK.sub(lambda m: f'href="{m.group(1).removesuffix(".html")}/"', s))


def anti_bot_wall(root: Path) -> None:
    """Every page of every host answers 200 with an anti-bot interstitial ("Just a moment...")."""
    for host in (SITE_HOST, *SHARE_HOSTS):
        for path in _pages(root, host):
            path.write_text(WALL, encoding="utf-8")


def parking_home(root: Path) -> None:
    """The home page alone is a domain-parking page."""
    (root / SITE_HOST / "index.html").write_text(PARKING, encoding="utf-8")


def home_without_post_links(root: Path) -> None:
    """The home page keeps its layout and headings but lists no post (a broken listing loop)."""
    _rewrite([root / SITE_HOST / "index.html"], _section(lambda s: re.sub(r"<li>.*?</li>", "", s, flags=re.S)))


def category_heading_gone(root: Path) -> None:
    """Category pages lose their ``<h2>`` heading (a category layout change)."""
    paths = [p for p in listing_pages(root) if p.name != "index.html" or p.parent.name != SITE_HOST]
    _rewrite(paths, _section(lambda s: re.sub(r"<h2[^>]*>.*?</h2>", "", s, flags=re.S)))


def share_container_renamed(root: Path) -> None:
    """Share pages hold the article in ``#ArticleBody`` instead of ``#ContentBody``."""
    _rewrite(share_pages(root), lambda s: s.replace('id="ContentBody"', 'id="ArticleBody"'))


def time_format_changed(root: Path) -> None:
    """Post pages show their time as ``2023年03月01日 10:15:42``, without the layout's label."""
    pattern = re.compile(r"<small>\(GMT\+8, Asia/Shanghai, CST\) (\d{4})-(\d{2})-(\d{2}) ([\d:]+)</small>")
    _rewrite(post_pages(root), lambda s: pattern.sub(r"<small>\1年\2月\3日 \4</small>", s))


def tags_not_in_em(root: Path) -> None:
    """Post pages print their tags in ``<strong>`` instead of ``<em>``."""
    _rewrite(post_pages(root), lambda s: re.sub(r"(<small>tags: )<em>(.*?)</em>", r"\1<strong>\2</strong>", s))


def share_host_moved(root: Path) -> None:
    """Share links (and their pages) move to another host: ``share.zning.xyz`` instead of the known ones."""
    for old in ("finews.zning.xyz", "choicewzp1.eastmoney.com"):
        _rewrite(post_pages(root), lambda s, old=old: s.replace(f"//{old}/", "//share.zning.xyz/"))
        if (root / old).is_dir():
            shutil.copytree(root / old, root / "share.zning.xyz", dirs_exist_ok=True)
            shutil.rmtree(root / old)


def footer_category_moved(root: Path) -> None:
    """The posts' footers link category pages as ``/category/<slug>/`` (served there too, and still at the old URLs)."""
    for page in sorted((root / SITE_HOST / "category").glob("*.html")):
        (page.parent / page.stem).mkdir()
        shutil.copy2(page, page.parent / page.stem / "index.html")
    pattern = re.compile(r'href="//finews\.withounder\.com/category/([^/"]+)\.html"')
    _rewrite(post_pages(root), lambda s: pattern.sub(r'href="//finews.withounder.com/category/\1/"', s))


def share_link_in_data_attribute(root: Path) -> None:
    """The share link is rendered as a button: its URL in ``data-href``, the ``href`` a script's."""
    pattern = re.compile(r'<p><a href="([^"]*NewsShare[^"]*)">[^<]*</a></p>')
    _rewrite(
        post_pages(root),
        lambda s: pattern.sub(r'<p><a href="javascript:void(0)" class="share" data-href="\1">阅读原文</a></p>', s),
    )


@dataclass(frozen=True)
class Change:
    apply: Callable[[Path], None]
    fresh: frozenset[tuple[str, str]]  # findings on a fresh archive
    rerun: frozenset[tuple[str, str]]  # findings on a re-run over a good archive (stored listings revalidated)
    every_page: frozenset[str] = frozenset()  # page classes whose every checked page has the finding


def _set(*kinds: str) -> frozenset[tuple[str, str]]:
    return frozenset(tuple(kind.split("/")) for kind in kinds)  # type: ignore[misc]


CHANGES: dict[str, Change] = {
    "title_out_of_h1": Change(title_out_of_h1, _set("post/no_title"), _set("post/no_title"), frozenset({"post"})),
    "time_gone": Change(time_gone, _set("post/no_time"), _set("post/no_time"), frozenset({"post"})),
    "tags_gone": Change(tags_gone, _set("post/no_tags"), _set("post/no_tags"), frozenset({"post"})),
    # Fresh: the home page links only posts, so nothing else is reached; a re-run also asks the
    # category pages it stored, which are linked by the new form too.
    "permalink_change": Change(
        permalink_change,
        _set("home/no_post_links", "home/unknown_links"),
        _set("home/no_post_links", "home/unknown_links", "category/unknown_links"),
        frozenset({"home", "category"}),
    ),
    "pretty_permalink": Change(
        pretty_permalink,
        _set("home/no_post_links", "home/unknown_links"),
        _set("home/no_post_links", "home/unknown_links", "category/unknown_links"),
        frozenset({"home", "category"}),
    ),
    "anti_bot_wall": Change(
        anti_bot_wall,
        _set("home/not_site_page"),
        _set("home/not_site_page", "category/not_site_page"),
        frozenset({"home", "category"}),
    ),
    "parking_home": Change(parking_home, _set("home/not_site_page"), _set("home/not_site_page"), frozenset({"home"})),
    "home_without_post_links": Change(
        home_without_post_links, _set("home/no_post_links"), _set("home/no_post_links"), frozenset({"home"})
    ),
    "category_heading_gone": Change(
        category_heading_gone, _set("category/no_heading"), _set("category/no_heading"), frozenset({"category"})
    ),
    "share_container_renamed": Change(
        share_container_renamed, _set("share/no_article"), _set("share/no_article"), frozenset({"share"})
    ),
    "time_format_changed": Change(
        time_format_changed, _set("post/unreadable_time"), _set("post/unreadable_time"), frozenset({"post"})
    ),
    "tags_not_in_em": Change(
        tags_not_in_em, _set("post/unreadable_tags"), _set("post/unreadable_tags"), frozenset({"post"})
    ),
    # Only media posts link share pages (emnews posts link eastmoney articles): not every post page.
    "share_host_moved": Change(share_host_moved, _set("post/unknown_share_link"), _set("post/unknown_share_link")),
    "share_link_in_data_attribute": Change(
        share_link_in_data_attribute, _set("post/unknown_share_link"), _set("post/unknown_share_link")
    ),
    # The home page links posts only: category pages were reached through the posts' footers.
    "footer_category_moved": Change(footer_category_moved, _set("post/unknown_links"), _set("post/unknown_links")),
}


def changed_copy(site: Path, kind: str, dest: Path) -> Path:
    """A copy of ``site`` at ``dest`` with the change ``kind`` applied."""
    shutil.copytree(site, dest)
    CHANGES[kind].apply(dest)
    return dest
