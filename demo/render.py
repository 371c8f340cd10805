"""Pure-Python rendering of a finews-style site, byte-identical to what Jekyll 4.3 renders.

Jekyll would need Ruby at every build; benchmarks generate sites of thousands of posts and tests
rebuild the demo, so this module reproduces the output of Jekyll with the layouts in
``demo/skeleton`` instead. Each function below mirrors one template literally, including the
whitespace Liquid leaves around its tags, and ``python -m demo.generate --regen`` checks every page
against a real Jekyll build.

Kramdown is not reimplemented. An article body is used as its own rendering only when it is
*kramdown-stable* (:func:`kramdown_stable`): one HTML paragraph per line, with nothing kramdown
rewrites. Any other body needs ``Article.rendered_body`` taken from a real Jekyll run.

Also here: the post source file (the archive's format, ``../shared/SITE.md``) and the share page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from demo.model import SITE_HOST, Article, category_path, footer_markdown

SITE_TITLE = "金融消息"
SITE_LANG = "zh-CN"

# One line of a kramdown-stable body: an HTML paragraph whose content kramdown passes through
# untouched -- text without raw "<", ">" or "&" (kramdown escapes those), entity references, and a
# few inline tags. "<br>" is excluded (kramdown writes "<br />"), as are attributes holding "&".
_INLINE = r"""(?:[^<>&\n]|&(?:amp|lt|gt|quot|nbsp|#\d+);|</?(?:strong|em)>|<span class="[\w-]+">|</span>|<br />)"""
_STABLE_LINE = re.compile(rf'<p(?: class="[A-Za-z][\w-]*")?>{_INLINE}*</p>')
# A digest is a Markdown paragraph: anything kramdown interprets (emphasis, links, HTML, smart
# quotes, "--", "...", list or heading markers) would be rewritten.
_UNSTABLE_DIGEST = re.compile(r"""[*_\[\]`\\<>&"'#|{}~]|--|\.\.\.|^\s|\s$|^\d+\.|^[-+=]""")


class UnstableBodyError(ValueError):
    """A body kramdown would change, given without its Jekyll rendering."""


def kramdown_stable(body: str) -> bool:
    """True when kramdown renders ``body`` as ``body + "\\n"`` (checked against Jekyll in tests)."""
    return all(_STABLE_LINE.fullmatch(line) for line in body.split("\n"))


def digest_stable(digest: str) -> bool:
    """True when kramdown renders ``> digest`` as a blockquote holding exactly ``<p>digest</p>``."""
    return bool(digest) and "\n" not in digest and not _UNSTABLE_DIGEST.search(digest)


def rendered_body(article: Article) -> str:
    """What kramdown makes of the article body."""
    if article.rendered_body is not None:
        return article.rendered_body
    if not kramdown_stable(article.body):
        raise UnstableBodyError(
            f"{article.filename}: kramdown rewrites this body; give Article.rendered_body from a "
            "Jekyll run (python -m demo.generate --regen) or use one <p> per line"
        )
    return article.body + "\n"


# -- the post file ----------------------------------------------------------------------------------


def post_source(article: Article) -> str:
    """The post file, exactly in the site's layout; no newline follows the footer."""
    front = (
        "---\nlayout: post\n"
        f'title: "{article.title}"\n'
        f"date: {article.date_str} +0800\n"
        f"categories: {article.slug}\n"
        f"tags: {article.tag}\n---\n"
    )
    parts = [f"> {article.digest}"] if article.is_emnews else []
    parts += [article.body, f"<{article.link}>", footer_markdown(article.tag, article.slug)]
    return front + "\n\n".join(parts)


def category_source(tag: str, slug: str) -> str:
    """The category page file of the archive (``category/<slug>.html``)."""
    return f"---\nlayout: category\ntitle: {tag}\ncategory: {slug}\n---\n"


# -- kramdown output of a post ------------------------------------------------------------------------


def _link_paragraph(url: str) -> str:
    return f'<p><a href="{url}">{url}</a></p>\n'


def post_tail(article: Article) -> str:
    """Kramdown's rendering of what follows the body: the link paragraph and the footer."""
    footer = (
        f'<p><a href="//{SITE_HOST}{article.category_path}">返回{article.tag}</a>'
        f'｜<a href="//{SITE_HOST}/">返回首页</a></p>\n'
    )
    return _link_paragraph(article.link) + "\n" + footer


def post_head(article: Article) -> str:
    """Kramdown's rendering of what precedes the body: the digest blockquote of emnews posts."""
    if not article.is_emnews:
        return ""
    if not digest_stable(article.digest):
        raise UnstableBodyError(f"{article.filename}: kramdown would rewrite the digest")
    return f"<blockquote>\n  <p>{article.digest}</p>\n</blockquote>\n\n"


def post_content(article: Article) -> str:
    """Kramdown's rendering of the whole post body (``{{ content }}`` in the post layout)."""
    return post_head(article) + rendered_body(article) + "\n" + post_tail(article)


# -- layouts (demo/skeleton/_layouts) -------------------------------------------------------------------


def default_layout(title: str, content: str) -> str:
    """``_layouts/default.html``."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{SITE_LANG}">\n'
        "  <head>\n"
        '    <meta charset="UTF-8">\n'
        '    <meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"    <title>{title} | {SITE_TITLE}</title>\n"
        '    <link rel="stylesheet" href="/assets/css/style.css">\n'
        "  </head>\n"
        "  <body>\n"
        '    <div class="wrapper">\n'
        "      <header>\n"
        f'        <h1><a href="https://{SITE_HOST}/">{SITE_TITLE}</a></h1>\n'
        "        <p></p>\n"
        "      </header>\n"
        "      <section>\n\n"
        f"      {content}\n\n"
        "      </section>\n"
        "      <footer>\n"
        "        <p>&copy; 2021</p>\n"
        "      </footer>\n"
        "    </div>\n"
        "  </body>\n"
        "</html>\n"
    )


def post_layout(article: Article, content: str) -> str:
    """``_layouts/post.html`` (before the default layout wraps it)."""
    return (
        f"<small>(GMT+8, Asia/Shanghai, CST) {article.date_str}</small>\n"
        f"<h1>{article.title}</h1>\n\n"
        f"{content}\n\n"
        f"\n  <small>tags: <em>{article.tag}</em></small>\n"
        "\n"
    )


def post_page(article: Article, content: str | None = None) -> str:
    """The post page; ``content`` replaces the kramdown output (used to cut it out of a page)."""
    body = post_content(article) if content is None else content
    return default_layout(article.title, post_layout(article, body))


def category_page(title: str, posts: Sequence[Article]) -> str:
    """``_layouts/category.html``: every post of the category, newest first."""
    items = "".join(f'\n    <li><a href="{p.url}">{p.title}</a></li>\n  ' for p in newest_first(posts))
    return default_layout(title, f'<h2 id="{title}">{title}</h2>\n<ul>\n  {items}\n</ul>\n')


def home_page(articles: Sequence[Article], limit: int = 5) -> str:
    """``index.html``: per tag (in the order Jekyll's ``site.tags`` has), its ``limit`` newest posts."""
    blocks = []
    for tag, posts in tags_in_site_order(articles):
        items = "".join(f'\n      <li><a href="{p.url}">{p.title}</a></li>\n    ' for p in posts[:limit])
        blocks.append(f'\n  <h2 id="{tag}">{tag}</h2>\n  <ul>\n    {items}\n  </ul>\n')
    return default_layout("首页", "".join(blocks) + "\n")


# -- Jekyll's orderings ------------------------------------------------------------------------------


def _site_key(article: Article) -> tuple[str, str]:
    # Jekyll sorts documents by date, then by path; all posts share one folder, so by file name.
    return (article.date_str, article.filename)


def newest_first(posts: Iterable[Article]) -> list[Article]:
    """Jekyll's ``site.categories[...]`` / ``site.tags[...]`` order."""
    return sorted(posts, key=_site_key, reverse=True)


def tags_in_site_order(articles: Iterable[Article]) -> list[tuple[str, list[Article]]]:
    """``site.tags``: tags in order of first use by date-ascending posts, each newest first."""
    by_tag: dict[str, list[Article]] = {}
    for article in sorted(articles, key=_site_key):
        by_tag.setdefault(article.tag, []).append(article)
    return [(tag, newest_first(posts)) for tag, posts in by_tag.items()]


def categories(articles: Iterable[Article]) -> dict[str, tuple[str, list[Article]]]:
    """slug -> (page title, posts), for every category the articles use."""
    found: dict[str, tuple[str, list[Article]]] = {}
    for article in articles:
        found.setdefault(article.slug, (article.tag, []))[1].append(article)
    return found


def category_file(slug: str) -> str:
    """Where a category's page lands in the built site (relative to the site host's folder)."""
    path = category_path(slug).lstrip("/")
    return path + "index.html" if path.endswith("/") else path


# -- share pages ------------------------------------------------------------------------------------

# The shape of a real share page. The backslash joins the .infos line, which is one line on the page.
SHARE_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="{charset}">
<title>{title}</title>
</head>
<body>
<div class="newsContent">
<h1 class="title">{title}</h1>
<div class="infos"><div class="item time">{showtime}</div>\
<div class="item source">来源：<span class="media">{media}</span></div></div>
<div class="txtinfos" id="ContentBody">
{body}
</div>
</div>
</body>
</html>
"""


def share_page(article: Article, charset: str) -> bytes:
    """The share page: the article as its source published it, in ``charset`` ("utf-8"/"gb18030").

    GB18030 pages are labelled ``gb2312``, as on many Chinese sites; the label is wrong on purpose.
    """
    page = SHARE_PAGE.format(
        charset="gb2312" if charset == "gb18030" else charset,
        title=html.escape(article.title, quote=False),
        showtime=article.date_str,
        media=html.escape(article.media),
        body=article.body,
    )
    return page.encode(charset)
