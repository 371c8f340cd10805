"""What one article of a finews-style site is, and where the site puts it.

An :class:`Article` holds what the site's generator received for one post (title, time, media,
body HTML, ...). Everything else -- the post file, its URL, the share link, the footer -- is
derived from it here, once, so the source writer and the page renderer cannot disagree.

Articles are validated on creation: the defects of the real site's generator (``"`` in a title,
``{{`` in a body, a media name with a space, ...; see ``../shared/SITE.md``) are refused rather
than reproduced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

SITE_HOST = "finews.withounder.com"
SHARE_HOST = "finews.zning.xyz"
OLD_SHARE_HOST = "choicewzp1.eastmoney.com"  # share links of older posts
EMNEWS_SLUG = "emnews"
EMNEWS_MEDIA = "东财滚动"  # tag 东财滚动新闻
# Categories whose page is reached as /<slug>/ rather than /category/<slug>.html.
ROOT_CATEGORY_SLUGS = frozenset({EMNEWS_SLUG})

SHARE_PATH = "/html_News/NewsShare.html?infoCode="
SHARE_CHARSETS = ("utf-8", "gb18030")

_CODE = re.compile(r"(?:NW)?\d{18}")
_SLUG = re.compile(r"[a-z0-9]+")
# Titles go into YAML double quotes and, unescaped (as Jekyll's layouts print them), into HTML.
_TITLE_FORBIDDEN = re.compile(r'["\\<>&\n]|\{\{|\{%')
_MEDIA_FORBIDDEN = re.compile(r'[\s"\\<>&/\[\]()]')
_LIQUID = re.compile(r"\{\{|\{%")


@dataclass(frozen=True)
class Article:
    """One post of the site, as its generator received it.

    ``body`` is the article HTML exactly as the generator put it into the post (and into the
    share page). ``rendered_body`` is what kramdown makes of ``body`` when that differs from
    ``body`` itself; it comes from a real Jekyll run (``python -m demo.generate --regen``).
    """

    code: str  # infoCode: "NW" + 18 digits for media posts, 18 digits for emnews posts
    title: str
    time: datetime  # publication time, Beijing time, naive
    media: str  # media name; the post's tag is media + "新闻"
    slug: str  # category: the media name's pinyin
    body: str
    digest: str = ""  # emnews only: the "> digest" blockquote
    source_url: str = ""  # emnews only: the eastmoney article the post links to
    share_host: str = SHARE_HOST
    share_published: bool = True  # False: the post links a share page that is gone
    share_charset: str | None = None  # None: let build_site's gbk_every decide
    rendered_body: str | None = None

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError(f"article {self.code!r}: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        found = []
        if not _CODE.fullmatch(self.code) or self.code.startswith("NW") == self.is_emnews:
            found.append("code must be NW+18 digits (media) or 18 digits (emnews)")
        if not self.title or _TITLE_FORBIDDEN.search(self.title):
            found.append("title must be non-empty, without quotes, backslashes, HTML or Liquid")
        if not self.media or _MEDIA_FORBIDDEN.search(self.media):
            found.append("media name must be non-empty, without spaces, quotes or brackets")
        if not _SLUG.fullmatch(self.slug):
            found.append("slug must be lowercase letters and digits")
        if not self.body or _LIQUID.search(self.body) or self.body != self.body.strip():
            found.append("body must be non-empty, stripped and free of Liquid tags")
        if self.is_emnews and not (self.digest and self.source_url):
            found.append("an emnews post needs a digest and a source URL")
        if self.share_charset not in (None, *SHARE_CHARSETS):
            found.append(f"share_charset must be one of {SHARE_CHARSETS}")
        return found

    @property
    def is_emnews(self) -> bool:
        return self.slug == EMNEWS_SLUG

    @property
    def tag(self) -> str:
        return f"{self.media}新闻"

    @property
    def date_str(self) -> str:
        return self.time.strftime("%Y-%m-%d %H:%M:%S")

    @property
    def filename(self) -> str:
        """The post file: ``YYYY-MM-DD-<code>.md`` (Beijing date)."""
        return f"{self.time:%Y-%m-%d}-{self.code}.md"

    @property
    def url(self) -> str:
        """Site-relative URL of the post page (Jekyll's default permalink)."""
        return f"/{self.slug}/{self.time:%Y/%m/%d}/{self.code}.html"

    @property
    def share_url(self) -> str:
        return f"http://{self.share_host}{SHARE_PATH}{self.code}"

    @property
    def link(self) -> str:
        """The URL the post links after its body: the share page, or the source for emnews."""
        return self.source_url if self.is_emnews else self.share_url

    @property
    def category_path(self) -> str:
        return category_path(self.slug)

    @property
    def has_share_page(self) -> bool:
        return not self.is_emnews and self.share_published


def category_path(slug: str) -> str:
    """Site-relative URL of a category's page."""
    return f"/{slug}/" if slug in ROOT_CATEGORY_SLUGS else f"/category/{slug}.html"


def footer_markdown(tag: str, slug: str) -> str:
    """The footer line of a post, exactly as the site's generator wrote it."""
    return f"[返回{tag}](//{SITE_HOST}{category_path(slug)})｜[返回首页](//{SITE_HOST}/)"
