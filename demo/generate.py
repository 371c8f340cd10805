"""Generate a finews-style site and its expected archive: the bundled demo, or any size for benchmarks.

A site is written as ``OUT/<host>/...`` (what :class:`archiver.devserver.server.SiteServer` serves):
``finews.withounder.com`` holds the post, category and home pages exactly as Jekyll 4.3 renders
them with ``demo/skeleton``; ``finews.zning.xyz`` (and ``choicewzp1.eastmoney.com``) hold one
share page per media post. The expected archive -- what a perfect crawl writes -- is
``_posts/*.md`` plus ``category/<slug>.html``, in the post layout of ``../shared/SITE.md``.

Usage, from the repository root::

    python -m demo.generate            # rewrite spiders/demo/site and demo/expected (pure Python)
    python -m demo.generate --check    # exit 1 if that would change anything, or if Jekyll disagrees
    python -m demo.generate --regen    # run Jekyll: refresh demo/kramdown.json, rewrite, verify
    python -m demo.generate --out DIR --synthetic 5000 --seed 1   # a benchmark site in DIR

Pages are rendered in Python (:mod:`demo.render`). Bodies kramdown would rewrite take their
rendering from ``demo/kramdown.json``, which ``--regen`` captures from a real Jekyll build.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from demo import jekyll
from demo.content import special_articles, synthetic_articles
from demo.model import SITE_HOST, Article
from demo.render import (
    categories,
    category_file,
    category_page,
    category_source,
    home_page,
    kramdown_stable,
    post_page,
    post_source,
    share_page,
)

__all__ = [
    "Article",
    "SiteSummary",
    "build_site",
    "demo_articles",
    "diff_trees",
    "main",
    "synthetic_articles",
    "write_archive",
    "write_categories",
    "write_demo",
    "write_sources",
]

DEMO_DIR = Path(__file__).resolve().parent
# The served site is package data of the spiders (``archiver demo`` reads it from an installed
# package); the expected archive is only the tests' and stays here.
SITE_DIR = DEMO_DIR.parent / "spiders" / "demo" / "site"
EXPECTED_DIR = DEMO_DIR / "expected"
KRAMDOWN_FILE = DEMO_DIR / "kramdown.json"
DEFAULT_GBK_EVERY = 4
DEMO_SEED = 2023
DEMO_SYNTHETIC = 18  # + the special articles of demo.content: 30 posts


@dataclass(frozen=True)
class SiteSummary:
    posts: int
    site_pages: int
    share_pages: int
    gb18030_share_pages: int
    missing_share_pages: int


# -- the demo's articles ------------------------------------------------------------------------------


def load_renderings(path: Path = KRAMDOWN_FILE) -> dict[str, str]:
    """Post file name -> kramdown's rendering of its body, as captured by ``--regen``."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: expected a JSON object of strings")
    return data


def demo_articles(renderings: Mapping[str, str] | None = None) -> list[Article]:
    """The committed demo's articles, oldest first, with the Jekyll renderings they need attached."""
    renderings = load_renderings() if renderings is None else renderings
    articles = sorted(
        synthetic_articles(DEMO_SYNTHETIC, DEMO_SEED) + special_articles(), key=lambda a: (a.time, a.code)
    )
    if len({a.time for a in articles}) != len(articles):
        raise ValueError("demo articles must have distinct times, so every listing has one order")
    unstable = {a.filename for a in articles if not kramdown_stable(a.body)}
    stale = set(renderings) - unstable
    if stale:
        raise ValueError(f"{KRAMDOWN_FILE.name} has renderings for {sorted(stale)}; run --regen")
    return [replace(a, rendered_body=renderings.get(a.filename)) for a in articles]


# -- the archive --------------------------------------------------------------------------------------


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)  # bytes: no newline translation, the layout has no trailing newline
    return path


def write_sources(articles: Iterable[Article], posts_dir: Path) -> list[Path]:
    """Write each article's post file (``YYYY-MM-DD-<code>.md``) into ``posts_dir``."""
    return [_write(Path(posts_dir) / a.filename, post_source(a).encode("utf-8")) for a in articles]


def write_categories(articles: Iterable[Article], category_dir: Path) -> list[Path]:
    """Write one ``<slug>.html`` category page per category the articles use."""
    return [
        _write(Path(category_dir) / f"{slug}.html", category_source(tag, slug).encode("utf-8"))
        for slug, (tag, _) in sorted(categories(articles).items())
    ]


def write_archive(articles: Sequence[Article], archive_dir: Path) -> None:
    """The expected archive: ``_posts/`` and ``category/``."""
    write_sources(articles, Path(archive_dir) / "_posts")
    write_categories(articles, Path(archive_dir) / "category")


# -- the site -----------------------------------------------------------------------------------------


def share_charset(article: Article, gbk_every: int) -> str:
    """The article's own choice, else GB18030 for every ``gbk_every``-th code (by hash), else UTF-8."""
    if article.share_charset is not None:
        return article.share_charset
    if gbk_every and int(hashlib.sha1(article.code.encode()).hexdigest(), 16) % gbk_every == 0:
        return "gb18030"
    return "utf-8"


def _check_unique(articles: Sequence[Article]) -> None:
    for what in ("filename", "url", "code"):
        values = [getattr(a, what) for a in articles]
        if len(set(values)) != len(values):
            raise ValueError(f"two articles share a {what}")


def build_site(articles: Sequence[Article], out_dir: Path, *, gbk_every: int = DEFAULT_GBK_EVERY) -> SiteSummary:
    """Render the site into ``out_dir/<host>/...``; ``out_dir`` must not exist or be empty.

    ``gbk_every``: share pages of every N-th article (by code hash) are GB18030 bytes labelled
    ``gb2312``, unless an article chooses its charset; 0 means never.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty")
    _check_unique(articles)
    site = out_dir / SITE_HOST
    for article in articles:
        _write(site / article.url.lstrip("/"), post_page(article).encode("utf-8"))
    for slug, (title, posts) in categories(articles).items():
        _write(site / category_file(slug), category_page(title, posts).encode("utf-8"))
    _write(site / "index.html", home_page(articles).encode("utf-8"))
    shared = [a for a in articles if a.has_share_page]
    gb18030 = 0
    for article in shared:
        charset = share_charset(article, gbk_every)
        gb18030 += charset == "gb18030"
        path = out_dir / article.share_host / "html_News" / "NewsShare" / f"{article.code}.html"
        _write(path, share_page(article, charset))
    return SiteSummary(
        posts=len(articles),
        site_pages=sum(1 for _ in site.rglob("*.html")),
        share_pages=len(shared),
        gb18030_share_pages=gb18030,
        missing_share_pages=sum(1 for a in articles if not a.is_emnews and not a.share_published),
    )


def write_demo(
    articles: Sequence[Article], dest: Path, *, gbk_every: int = DEFAULT_GBK_EVERY, replace_existing: bool = False
) -> SiteSummary:
    """Write ``dest/site`` (the served site) and ``dest/expected`` (the archive) for the articles."""
    site, expected = Path(dest) / "site", Path(dest) / "expected"
    if replace_existing:
        for folder in (site, expected):
            if folder.exists():
                shutil.rmtree(folder)
    summary = build_site(articles, site, gbk_every=gbk_every)
    write_archive(articles, expected)
    return summary


def write_committed(articles: Sequence[Article]) -> SiteSummary:
    """Rewrite the committed demo: the site in ``SITE_DIR``, the archive in ``EXPECTED_DIR``."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = write_demo(articles, Path(tmp))
        for part, dest in (("site", SITE_DIR), ("expected", EXPECTED_DIR)):
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(Path(tmp) / part, dest)
    return summary


# -- comparing with the committed demo and with Jekyll ------------------------------------------------


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def diff_trees(left: Path, right: Path) -> list[str]:
    """Relative paths of files that differ, or exist on one side only."""
    left_files, right_files = _files(left), _files(right)
    only = sorted(left_files ^ right_files)
    differ = sorted(p for p in left_files & right_files if not filecmp.cmp(left / p, right / p, shallow=False))
    return [f"only in {left if p in left_files else right}: {p}" for p in only] + [f"differs: {p}" for p in differ]


def check_demo(site_dir: Path = SITE_DIR, expected_dir: Path = EXPECTED_DIR) -> list[str]:
    """Problems with the committed demo: what regenerating would change, and (if installed) Jekyll's view."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        write_demo(demo_articles(), Path(tmp))
        problems += diff_trees(Path(tmp) / "site", site_dir)
        problems += diff_trees(Path(tmp) / "expected", expected_dir)
        if jekyll.jekyll_available():
            built = jekyll.build_archive(expected_dir, Path(tmp) / "jekyll")
            problems += [f"jekyll: {d}" for d in diff_trees(built, site_dir / SITE_HOST)]
    return problems


def regenerate_with_jekyll() -> SiteSummary:
    """Capture kramdown's renderings from a Jekyll build, rewrite the demo, verify every page."""
    articles = demo_articles(renderings={})
    with tempfile.TemporaryDirectory() as tmp:
        write_archive(articles, Path(tmp) / "archive")
        built = jekyll.build_archive(Path(tmp) / "archive", Path(tmp) / "jekyll")
        renderings = {
            a.filename: jekyll.kramdown_body((built / a.url.lstrip("/")).read_text(encoding="utf-8"), a)
            for a in articles
            if not kramdown_stable(a.body)
        }
        KRAMDOWN_FILE.write_text(
            json.dumps(renderings, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        summary = write_committed(demo_articles(renderings))
        mismatches = diff_trees(built, SITE_DIR / SITE_HOST)
    if mismatches:
        raise jekyll.JekyllError("Python and Jekyll render differently:\n" + "\n".join(mismatches))
    return summary


# -- command line ---------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m demo.generate", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="change nothing; exit 1 if the demo is stale")
    mode.add_argument("--regen", action="store_true", help="run Jekyll to refresh demo/kramdown.json")
    mode.add_argument("--out", type=Path, help="write DIR/site and DIR/expected instead of the demo")
    ap.add_argument("--synthetic", type=int, metavar="N", help="with --out: N synthetic articles")
    ap.add_argument("--seed", type=int, default=0, help="with --synthetic: the seed")
    ap.add_argument(
        "--gbk-every", type=int, default=DEFAULT_GBK_EVERY, help="with --out: every Nth share page is GB18030"
    )
    return ap


def _report(summary: SiteSummary, where: Path) -> None:
    print(
        f"{summary.posts} posts, {summary.site_pages} site pages, {summary.share_pages} share pages "
        f"({summary.gb18030_share_pages} GB18030, {summary.missing_share_pages} missing) -> {where}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.synthetic is not None and args.out is None:
        ap.error("--synthetic needs --out")
    if args.check:
        problems = check_demo()
        print("\n".join(problems) or "demo is up to date")
        return 1 if problems else 0
    if args.regen:
        _report(regenerate_with_jekyll(), SITE_DIR)
        return 0
    if args.out is not None:
        articles = synthetic_articles(args.synthetic, args.seed) if args.synthetic is not None else demo_articles()
        _report(write_demo(articles, args.out, gbk_every=args.gbk_every), args.out)
        return 0
    _report(write_committed(demo_articles()), SITE_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
