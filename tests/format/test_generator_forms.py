"""Posts in each source form of the site's generator, rendered as Jekyll renders them, come back byte for byte.

A model of each generator version (``GENERATORS``: the string concatenation it made, written here
from the descriptions in ``archiver.post``) writes a post; ``jekyll_page`` renders it as Jekyll with
kramdown and the site's layout do (checked against real Jekyll in the last test); the spider turns
the page back into an article, and ``render_post`` must give the generator's bytes and file name.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from collections.abc import Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver.format import dates
from archiver.format.post import post_filename, render_post
from archiver.format.unrender import source_form
from spiders.finews import FinewsSpider

SITE = "finews.withounder.com"
# Text kramdown prints as it is in a paragraph: no Markdown, no typographic quotes, no entities.
WORDS = st.text(
    st.sampled_from("中国股市新闻报道公司收益增长上海深圳ABCxyz0123456789，。：；（）“”％、"), min_size=1, max_size=30
)
# The API's plain-text digests may hold `&` (`S&P`), which kramdown writes `&amp;`.
DIGEST = st.one_of(WORDS, st.tuples(WORDS, WORDS).map("&".join))
SLUG_MEDIA = st.sampled_from(
    [("柳州晚报", "liuzhouwanbao"), ("财联社", "cailianshe"), ("券商中国", "quanshangzhongguo")]
)
EM_HOSTS = st.sampled_from(["finance", "stock", "hk", "futures"])
EMNEWS_FOOTERS = {
    "none": "",
    "dot": "\n\n[返回东财滚动新闻](./emnews/)\n[返回首页](./)",
    "relative": "\n\n[返回东财滚动新闻](../emnews/)\n[返回首页](../)",
    "zning": "\n\n[返回东财滚动新闻](//finews.zning.me/emnews/)\n[返回首页](//finews.zning.me/)",
    "two-lines": f"\n\n[返回东财滚动新闻](//{SITE}/emnews/)\n[返回首页](//{SITE}/)",
    "bar": f"\n\n[返回东财滚动新闻](//{SITE}/emnews/)｜[返回首页](//{SITE}/)",
}


@st.composite
def html_content(draw: st.DrawFn) -> str:
    """An article's HTML as the API returned it: block elements on one line, `&` bare in attributes."""
    parts = []
    for kind in draw(st.lists(st.sampled_from(["p", "strong", "image", "center", "media"]), min_size=1, max_size=6)):
        text = draw(WORDS)
        if kind == "p":
            parts.append(f"<p>{text}</p>")
        elif kind == "strong":
            parts.append(f"<p><strong>{text}</strong></p>")
        elif kind == "image":
            code = draw(st.from_regex(r"[0-9]{6}", fullmatch=True))
            parts.append(
                "<!-- EM_StockImg_Start -->"
                f'<p style="text-align:center;"><a href="http://quote.eastmoney.com/unify/r/0.{code}" target="_blank">'
                f'<img src="https://webquoteklinepic.eastmoney.com/GetPic.aspx?nid=0.{code}&imageType=k&at=1" '
                'border="0" /></a></p><!-- EM_StockImg_End -->'
            )
        elif kind == "center":
            parts.append(
                f'<center><img src="https://dfscdn.dfcfw.com/download/D{len(text)}.jpg" alt="Image" /></center>'
            )
        else:
            parts.append(f'<p class="em_media">（文章来源：{text}）</p>')
    return "".join(parts)


def front(title: str, date: str, category: str, tags: str) -> str:
    return f'---\nlayout: post\ntitle: "{title}"\ndate: {date}\ncategories: {category}\ntags: {tags}\n---\n'


def when(draw: st.DrawFn, start: dt.datetime, stop: dt.datetime) -> dt.datetime:
    return draw(st.datetimes(min_value=start, max_value=stop)).replace(microsecond=0)


@st.composite
def plain_digest(draw: st.DrawFn, bare: bool) -> tuple[str, str]:
    """2021-12-08: the plain-digest `emnews` versions, before (bare) and after the `+0800`."""
    # Their posts are of the day's generator runs: from 10:18 to the afternoon (the bare ones' before 16:00).
    last = dt.datetime(2021, 12, 8, 15, 59, 59) if bare else dt.datetime(2021, 12, 8, 17, 59, 59)
    shown = when(draw, dt.datetime(2021, 12, 8, 10, 18), last)
    post_id = "20211208" + draw(st.from_regex(r"22[0-9]{8}", fullmatch=True))
    showtime = shown.strftime("%Y-%m-%d %H:%M:%S")
    url = f"http://{draw(EM_HOSTS)}.eastmoney.com/news/1354,{post_id}.html"
    footer = EMNEWS_FOOTERS[draw(st.sampled_from(sorted(EMNEWS_FOOTERS)))]
    text = front(draw(WORDS), showtime if bare else f"{showtime} +0800", "emnews", "东财滚动新闻")
    text += f"\n{draw(DIGEST)}\n\n<{url}>{footer}"
    return f"{showtime[:10]}-{post_id}.md", text


@st.composite
def quote_digest(draw: st.DrawFn) -> tuple[str, str]:
    """From 2021-12-08 afternoon: `> digest`, the article's HTML (`content`), the link, the `｜` footer."""
    shown = when(draw, dt.datetime(2021, 12, 9), dt.datetime(2022, 6, 30))
    post_id = shown.strftime("%Y%m%d") + draw(st.from_regex(r"2[0-9]{9}", fullmatch=True))
    showtime = shown.strftime("%Y-%m-%d %H:%M:%S")
    text = front(draw(WORDS), f"{showtime} +0800", "emnews", "东财滚动新闻")
    text += f"> {draw(DIGEST)}\n\n{draw(html_content())}\n\n<http://finance.eastmoney.com/news/1354,{post_id}.html>"
    text += EMNEWS_FOOTERS["bar"]
    return f"{showtime[:10]}-{post_id}.md", text


@st.composite
def media(draw: st.DrawFn, early: bool) -> tuple[str, str]:
    """Media posts: get_emnews_2.py (`simtitle\\nsimdigest`, footer `/<slug>/`), then the API's `text`."""
    name, slug = draw(SLUG_MEDIA)
    if early:
        shown = when(draw, dt.datetime(2021, 12, 8, 10, 0), dt.datetime(2021, 12, 9, 23, 59))
        body, host, footer_path = f"{draw(DIGEST)}\n{draw(DIGEST)}", "choicewzp1.eastmoney.com", f"{slug}/"
    else:
        shown = when(draw, dt.datetime(2021, 12, 9), dt.datetime(2022, 6, 30))
        body, host, footer_path = draw(html_content()), "finews.zning.xyz", f"category/{slug}.html"
    post_id = "NW" + shown.strftime("%Y%m%d") + draw(st.from_regex(r"2[0-9]{9}", fullmatch=True))
    showtime = shown.strftime("%Y-%m-%d %H:%M:%S")
    text = front(draw(WORDS), f"{showtime} +0800", slug, f"{name}新闻")
    text += f"{body}\n\n<http://{host}/html_News/NewsShare.html?infoCode={post_id}>"
    text += f"\n\n[返回{name}新闻](//{SITE}/{footer_path})｜[返回首页](//{SITE}/)"
    return f"{showtime[:10]}-{post_id}.md", text


GENERATORS: dict[str, Callable[[], st.SearchStrategy[tuple[str, str]]]] = {
    "early-bare": lambda: plain_digest(bare=True),
    "early-offset": lambda: plain_digest(bare=False),
    "quote-digest": quote_digest,
    "media-early": lambda: media(early=True),
    "media": lambda: media(early=False),
}

# --- a model of Jekyll 4 with kramdown (GFM, Jekyll's defaults) and the site's post layout ---------------
_ELEMENT = re.compile(r"<!--.*?-->|<(?P<name>[a-z]+)\b[^>]*>.*?</(?P=name)>", re.S)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)]*)\)")


def _text(text: str) -> str:
    """Markdown text as kramdown prints it (these texts hold no entity: every `&` is escaped)."""
    return text.replace("&", "&amp;")


def _block(block: str) -> str:
    if block.startswith("> "):
        return f"<blockquote>\n  <p>{_text(block[2:])}</p>\n</blockquote>"
    if re.fullmatch(r"<[a-z]+:[^<>\s]*>", block):
        url = html.escape(block[1:-1], quote=True)
        return f'<p><a href="{url}">{url}</a></p>'
    if block.startswith("<"):
        # An HTML block: every block element on a line of its own, `&` in attributes written `&amp;`.
        return "\n".join(
            re.sub(r"<[a-z][^<>]*>", lambda tag: tag.group().replace("&", "&amp;"), match.group())
            for match in _ELEMENT.finditer(block)
        )
    if _LINK.match(block):
        return "<p>" + _LINK.sub(r'<a href="\2">\1</a>', block) + "</p>"
    return f"<p>{_text(block)}</p>"


def jekyll_page(name: str, text: str) -> tuple[str, str]:
    """(the post page's path, the page) as the site's Jekyll made them from the post file ``name``."""
    head, content = text[4:].split("\n---\n", 1)
    data = yaml.safe_load(head)
    # A date without offset is UTC to YAML and Jekyll (pyyaml leaves `+0800` a string; Ruby reads it).
    date = dates.parse_time(str(data["date"]), default_tz=dt.UTC)
    shown = date.astimezone(dates.BEIJING)  # _config.yml: timezone Asia/Shanghai
    rendered = "\n\n".join(_block(block) for block in content.strip("\n").split("\n\n"))
    page = (
        f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="UTF-8"><title>{data["title"]}</title></head>\n'
        f'<body><header><h1><a href="https://{SITE}/">金融消息</a></h1></header>\n      <section>\n\n'
        f"      <small>(GMT+8, Asia/Shanghai, CST) {shown:%Y-%m-%d %H:%M:%S}</small>\n<h1>{data['title']}</h1>\n\n"
        f"{rendered}\n\n\n\n  <small>tags: <em>{data['tags']}</em></small>\n\n\n\n      </section>\n</body></html>\n"
    )
    # Jekyll's default permalink: /:categories/:year/:month/:day/:title.html, the day in the site's time zone.
    return f"/{data['categories']}/{shown:%Y/%m/%d}/{name[11:-3]}.html", page


def archived(name: str, text: str, page: str | None = None) -> str:
    """The post file the archive writes from the post page alone (its share page gone)."""
    path, model_page = jekyll_page(name, text)
    spider = FinewsSpider(start_url=f"http://{SITE}/")
    article = spider.article_from_post_page(model_page if page is None else page, f"http://{SITE}{path}")
    article.date = dates.parse_time(str(article.date))
    assert post_filename(article) == name
    return render_post(article)


@pytest.mark.parametrize("form", sorted(GENERATORS))
def test_each_generator_form_comes_back_byte_for_byte_from_its_page(form: str) -> None:
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(GENERATORS[form]())
    def check(post: tuple[str, str]) -> None:
        name, text = post
        assert archived(name, text) == text

    check()


def test_the_shown_time_decides_the_date_form_of_plain_digest_posts() -> None:
    shown = dt.datetime(2021, 12, 8, 17, 59, 59, tzinfo=dates.BEIJING)
    assert source_form("摘要。", "http://x/a,1.html", None, "emnews", shown) == "early-offset"
    assert source_form("摘要。", "http://x/a,1.html", None, "emnews", shown + dt.timedelta(seconds=1)) == "early-bare"
    # Outside the plain-digest day, a `> digest`, another category, no link: the archive's own form.
    assert source_form("摘要。", "http://x/a,1.html", None, "emnews", "2021-12-09 08:00:00") is None
    assert source_form("摘要。", "http://x/a,1.html", None, "emnews", "2021-12-07 23:59:59") is None
    assert source_form("> 摘要。\n\n<p>x</p>", "http://x/a,1.html", None, "emnews", shown) is None
    assert source_form("摘要。", "http://x/a,1.html", None, "liuzhouwanbao", shown) is None
    assert source_form("摘要。", None, None, "emnews", shown) is None


def test_a_bare_date_after_16_00_keeps_the_generators_day_in_the_file_name() -> None:
    # 2021-12-08 23:30 shown = 15:30 bare: the generator named the file after the 8th.
    text = (
        front("标题", "2021-12-08 15:30:00", "emnews", "东财滚动新闻") + "\n摘要。\n\n<http://x.eastmoney.com/a,1.html>"
    )
    assert archived("2021-12-08-2021120822.md", text) == text


POST_LAYOUT = """---
---
<section>
<small>(GMT+8, Asia/Shanghai, CST) {{ page.date | date: "%Y-%m-%d %H:%M:%S" }}</small>
<h1>{{ page.title }}</h1>

{{ content }}

<small>tags: <em>{{ page.tags | join: "</em> - <em>" }}</em></small>
</section>
"""


@pytest.mark.jekyll
@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_the_model_is_what_jekyll_renders(
    jekyll_bin: str, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Real Jekyll renders posts of every form to pages the archive turns back into the same bytes."""
    tmp = tmp_path_factory.mktemp("jekyll")
    site = tmp / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_layouts").mkdir()
    (site / "_config.yml").write_text("timezone: Asia/Shanghai\n", encoding="utf-8")
    (site / "_layouts" / "post.html").write_text(POST_LAYOUT, encoding="utf-8")
    posts = dict(data.draw(st.lists(st.one_of(*(make() for make in GENERATORS.values())), min_size=5, max_size=12)))
    for name, text in posts.items():
        (site / "_posts" / name).write_text(text, encoding="utf-8")
    built = subprocess.run(
        [jekyll_bin, "build", "--source", str(site), "--destination", str(tmp / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    for name, text in posts.items():
        (page,) = (tmp / "out").rglob(f"{name[11:-3]}.html")
        assert archived(name, text, page.read_text(encoding="utf-8")) == text, name


def test_the_post_format_modules_import_no_scrapy() -> None:
    modules = ", ".join(
        f"archiver.format.{name}"
        for name in ("post", "unrender", "dates", "frontmatter", "htmlsource", "sanitize", "slug")
    )
    code = f"import sys, {modules}; sys.exit('scrapy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
