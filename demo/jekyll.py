"""Run real Jekyll (Debian's ``jekyll``, 4.3) over an archive, the reference for demo/render.py.

An archive (``_posts/*.md`` + ``category/<slug>.html``) plus ``demo/skeleton`` (config, layouts,
home page) is a complete Jekyll source of the site. :func:`build_archive` renders it; the demo's
generator uses that to capture what kramdown makes of bodies it cannot reproduce itself, and to
check every page it renders in Python; the tests use it to check the committed demo.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from demo.model import ROOT_CATEGORY_SLUGS, Article
from demo.render import category_file, post_head, post_page, post_tail

SKELETON = Path(__file__).resolve().parent / "skeleton"


class JekyllError(RuntimeError):
    """Jekyll failed, or rendered a page in a shape the demo does not expect."""


def jekyll_available() -> bool:
    return shutil.which("jekyll") is not None


def assemble_source(archive: Path, dest: Path) -> Path:
    """Lay out a Jekyll source in ``dest``: the skeleton, the archive's posts and category pages.

    A category reached as ``/<slug>/`` (emnews) gets its page at ``<slug>/index.html``; the
    archive keeps every category page as ``category/<slug>.html``.
    """
    shutil.copytree(SKELETON, dest)
    shutil.copytree(archive / "_posts", dest / "_posts")
    for page in sorted((archive / "category").glob("*.html")):
        target = dest / category_file(page.stem) if page.stem in ROOT_CATEGORY_SLUGS else dest / "category" / page.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, target)
    return dest


def jekyll_build(source: Path, destination: Path) -> None:
    """``jekyll build``; raises JekyllError with Jekyll's output when it fails or warns."""
    command = [
        "jekyll", "build", "--quiet", "--disable-disk-cache",
        "--source", str(source), "--destination", str(destination),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    output = (result.stdout + result.stderr).strip()
    # --quiet leaves only warnings and errors; a warning (e.g. a skipped post) is a failure here.
    if result.returncode != 0 or output:
        raise JekyllError(f"jekyll build exited {result.returncode}:\n{output}")


def build_archive(archive: Path, workdir: Path) -> Path:
    """Render an archive with Jekyll in ``workdir``; returns the built site's folder."""
    source = assemble_source(archive, workdir / "source")
    site = workdir / "site"
    jekyll_build(source, site)
    return site


def kramdown_body(page: str, article: Article) -> str:
    """Cut kramdown's rendering of ``article.body`` out of the post page Jekyll rendered."""
    prefix, marker, suffix = post_page(article, content="\x00").partition("\x00")
    if not marker or not (page.startswith(prefix) and page.endswith(suffix)):
        raise JekyllError(f"{article.filename}: Jekyll's page does not have the post layout's shape")
    content = page[len(prefix) : len(page) - len(suffix)]
    head, tail = post_head(article), "\n" + post_tail(article)
    if not (content.startswith(head) and content.endswith(tail)):
        raise JekyllError(f"{article.filename}: Jekyll rendered the digest, link or footer differently")
    return content[len(head) : len(content) - len(tail)]
