"""The bundled demo site: reproducible, what Jekyll renders, and holding the traps it promises."""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from archiver.devserver.server import SiteServer
from demo import jekyll
from demo.generate import (
    SITE_DIR,
    build_site,
    demo_articles,
    diff_trees,
    main,
    synthetic_articles,
    write_archive,
    write_demo,
)
from demo.model import Article
from demo.render import UnstableBodyError, kramdown_stable

DEMO = Path(__file__).resolve().parents[2] / "demo"
SITE_HOST = "finews.withounder.com"
POST = re.compile(
    r"---\nlayout: post\n"
    r'title: "(?P<title>[^"\n]+)"\n'
    r"date: (?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+0800\n"
    r"categories: (?P<slug>[a-z0-9]+)\n"
    r"tags: (?P<tag>\S+新闻)\n---\n"
    r"(?P<body>.+)\n\n"
    r"<(?P<link>http://[^>\s]+)>\n\n"
    r"\[返回(?P=tag)\]\(//finews\.withounder\.com(?:/category/(?P=slug)\.html|/(?P=slug)/)\)"
    r"｜\[返回首页\]\(//finews\.withounder\.com/\)",
    re.S,
)
SHARE_LINK = re.compile(r"http://(?P<host>[^/]+)/html_News/NewsShare\.html\?infoCode=(?P<code>\w+)")
CONTENT_BODY = re.compile(r'<div class="txtinfos" id="ContentBody">\n(?P<body>.*)\n</div>\n</div>\n</body>', re.S)

SiteServerFactory = Callable[..., SiteServer]


def expected_posts() -> dict[str, re.Match[str]]:
    posts = {}
    for path in sorted((DEMO / "expected" / "_posts").glob("*.md")):
        match = POST.fullmatch(path.read_text(encoding="utf-8"))
        assert match, f"{path.name} does not follow the post layout"
        posts[path.name] = match
    return posts


def share_file(link: str) -> Path:
    m = SHARE_LINK.fullmatch(link)
    assert m, link
    return SITE_DIR / m["host"] / "html_News" / "NewsShare" / f"{m['code']}.html"


def decode_share_page(data: bytes) -> str:
    """Decode as a browser does: by the <meta charset>, reading the gb2312 label as GB18030."""
    label = re.search(rb'<meta charset="([\w-]+)">', data)
    assert label, "a share page declares its charset in <meta>"
    charset = label[1].decode().lower()
    return data.decode("gb18030" if charset == "gb2312" else charset)


# -- reproducible --------------------------------------------------------------------------------------


def test_regenerating_gives_the_committed_demo(tmp_path: Path) -> None:
    write_demo(demo_articles(), tmp_path)
    assert diff_trees(tmp_path / "site", SITE_DIR) == []
    assert diff_trees(tmp_path / "expected", DEMO / "expected") == []


def test_synthetic_articles_are_deterministic_and_plausible() -> None:
    articles = synthetic_articles(40, seed=5)
    assert articles == synthetic_articles(40, seed=5)
    assert articles != synthetic_articles(40, seed=6)
    assert len({a.title for a in articles}) == len({a.code for a in articles}) == 40
    assert len({a.slug for a in articles}) >= 4
    assert sum(a.is_emnews for a in articles) == 10
    assert (articles[-1].time - articles[0].time).days >= 3
    assert all(kramdown_stable(a.body) for a in articles)
    assert all(re.search(r"[\u4e00-\u9fff]{8}", a.title + a.body) for a in articles)


def test_command_line_writes_a_synthetic_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path), "--synthetic", "8", "--seed", "3"]) == 0
    assert "8 posts" in capsys.readouterr().out
    assert len(list((tmp_path / "expected" / "_posts").glob("*.md"))) == 8
    assert (tmp_path / "site" / SITE_HOST / "index.html").is_file()


# -- the archive and the site agree ----------------------------------------------------------------------


def test_expected_posts_follow_the_site_layout() -> None:
    for name, post in expected_posts().items():
        code = re.search(r"(?:infoCode=|,)(\w+?)(?:\.html)?$", post["link"])
        assert code, post["link"]
        assert name == f"{post['date'][:10]}-{code[1]}.md"
        page = SITE_DIR / SITE_HOST / post["slug"] / post["date"][:10].replace("-", "/") / f"{code[1]}.html"
        assert f"<h1>{post['title']}</h1>" in page.read_text(encoding="utf-8")


def test_category_pages_name_every_category_of_the_posts() -> None:
    categories = {(p["slug"], p["tag"]) for p in expected_posts().values()}
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (DEMO / "expected" / "category").glob("*.html")}
    assert set(pages) == {slug for slug, _ in categories}
    for slug, tag in categories:
        assert pages[slug] == f"---\nlayout: category\ntitle: {tag}\ncategory: {slug}\n---\n"


def test_slugs_are_the_per_character_pinyin_of_the_media() -> None:
    xpinyin = pytest.importorskip("xpinyin")
    pinyin = xpinyin.Pinyin()
    for post in expected_posts().values():
        if post["slug"] != "emnews":
            assert post["slug"] == pinyin.get_pinyin(post["tag"].removesuffix("新闻"), "")


def test_share_pages_hold_the_exact_source_body() -> None:
    checked = 0
    for post in expected_posts().values():
        path = share_file(post["link"]) if "infoCode=" in post["link"] else None
        if path is None or not path.exists():
            continue
        page = decode_share_page(path.read_bytes())
        body = CONTENT_BODY.search(page)
        assert body, path
        assert body["body"] == post["body"]
        assert f'<h1 class="title">{post["title"]}</h1>' in page
        assert f'<div class="item time">{post["date"]}</div>' in page
        assert f'<span class="media">{post["tag"].removesuffix("新闻")}</span>' in page
        checked += 1
    assert checked >= 20


def test_gb18030_share_pages_are_labelled_gb2312_and_defeat_the_gb2312_codec() -> None:
    labelled = [p for p in SITE_DIR.rglob("NewsShare/*.html") if b'<meta charset="gb2312">' in p.read_bytes()]
    assert len(labelled) >= 3
    strict_failures = 0
    for path in labelled:
        data = path.read_bytes()
        text = data.decode("gb18030")
        assert data == text.encode("gb18030")
        if "镕" in text or "𠮷" in text:
            with pytest.raises(UnicodeDecodeError):
                data.decode("gb2312")
            strict_failures += 1
    assert strict_failures >= 2


# -- the traps the demo promises --------------------------------------------------------------------------


def test_demo_has_the_promised_shape() -> None:
    posts = expected_posts()
    media = {p["tag"].removesuffix("新闻"): p["slug"] for p in posts.values()}
    assert 25 <= len(posts) <= 40
    assert {"柳州晚报", "中国银行", "21世纪经济报道"} <= set(media)
    assert media["中国银行"] == "zhongguoyinxing"
    assert media["21世纪经济报道"] == "21shijijingjibaodao"
    assert len(set(media.values()) - {"emnews"}) >= 3 and "emnews" in media.values()
    assert any(len([p for p in posts.values() if p["slug"] == s]) > 5 for s in media.values()), "home truncates"
    names = {name.split("-", 3)[3] for name in posts}
    assert any(f"NW{n}" in names for n in names), "an emnews post and a media post of one article"
    assert any("choicewzp1.eastmoney.com" in p["link"] for p in posts.values())
    size = sum(f.stat().st_size for f in SITE_DIR.rglob("*") if f.is_file())
    assert size < 500_000


def test_some_share_pages_are_gone() -> None:
    missing = [
        p["link"] for p in expected_posts().values() if "infoCode=" in p["link"] and not share_file(p["link"]).exists()
    ]
    assert 1 <= len(missing) <= 2


def test_some_bodies_are_rewritten_by_kramdown() -> None:
    bodies = [p["body"] for p in expected_posts().values()]
    assert any("\n <p>" in b for b in bodies)
    assert any(re.search(r"<br/?>", b) for b in bodies)
    assert any(re.search(r'href="[^"]*&[^a]', b) for b in bodies)
    assert any(re.search(r'\n\n[^<\n]*"[^"\n]+"', b) for b in bodies)


def test_demo_is_served_through_the_site_server(site_server: SiteServerFactory, demo_site: Path) -> None:
    server = site_server(demo_site)
    links = [p["link"] for p in expected_posts().values() if "infoCode=" in p["link"]]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for link in [f"http://{SITE_HOST}/", *links]:
            conn.request("GET", link)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == (200 if link.endswith("/") or share_file(link).exists() else 404)
    finally:
        conn.close()


# -- validation ---------------------------------------------------------------------------------------


def test_a_body_kramdown_rewrites_needs_its_jekyll_rendering(tmp_path: Path) -> None:
    article = replace(synthetic_articles(1)[0], body="<p>a</p>\n <p>b</p>")
    with pytest.raises(UnstableBodyError):
        build_site([article], tmp_path)


@pytest.mark.parametrize(
    "change",
    [{"title": 'say "hi"'}, {"body": "<p>{{ x }}</p>"}, {"media": "21世纪 报道"}, {"code": "NW1"}, {"slug": "A b"}],
)
def test_articles_refuse_the_site_generators_defects(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="article"):
        replace(synthetic_articles(1)[0], **change)


# -- Jekyll ---------------------------------------------------------------------------------------------


def dom(element: Any) -> tuple[Any, ...]:
    """An element as (tag, attributes, whitespace-collapsed text, children with their tails)."""
    children = tuple((dom(child), " ".join((child.tail or "").split())) for child in element)
    tag = element.tag if isinstance(element.tag, str) else "#comment"
    return (tag, tuple(sorted(element.attrib.items())), " ".join((element.text or "").split()), children)


def section(path: Path) -> tuple[Any, ...]:
    found = lxml.html.document_fromstring(path.read_bytes()).find(".//section")
    assert found is not None, path
    return dom(found)


@pytest.mark.jekyll
def test_jekyll_renders_the_committed_pages(tmp_path: Path) -> None:
    built = jekyll.build_archive(DEMO / "expected", tmp_path)
    committed = SITE_DIR / SITE_HOST
    pages = sorted(p.relative_to(built) for p in built.rglob("*.html"))
    assert pages == sorted(p.relative_to(committed) for p in committed.rglob("*.html"))
    for page in pages:
        assert section(built / page) == section(committed / page), page


@pytest.mark.jekyll
def test_python_rendering_equals_jekyll_byte_for_byte(tmp_path: Path) -> None:
    articles: list[Article] = synthetic_articles(12, seed=11)
    write_archive(articles, tmp_path / "archive")
    build_site(articles, tmp_path / "python")
    built = jekyll.build_archive(tmp_path / "archive", tmp_path / "jekyll")
    assert diff_trees(built, tmp_path / "python" / SITE_HOST) == []
