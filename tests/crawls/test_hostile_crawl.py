"""The hostile fixture site, crawled as users crawl: every page ends as a valid, safe post or a clean drop.

The site is ``tests/fixtures/hostile/site`` (built by ``cases.py``, which also holds each case's
expected outcome). The archive it makes must pass ``archiver verify`` and build with real Jekyll,
showing Liquid literally (in excerpts too) and no script anywhere.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from archiver.devserver.server import SiteServer
from archiver.format import sanitize
from archiver.format.post import parse_post
from archiver.tools.verify import LAYOUTS
from tests.crawlrun import crawl, run_archiver
from tests.loopback import LoopbackServer, QuietHandler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"


def load_cases() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hostile_cases", FIXTURES / "cases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


CASES = load_cases()


def front_matter(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def hostile_archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("hostile")
    output = work / "archive"
    with SiteServer(FIXTURES / "site", max_seconds=300) as server:
        result = crawl(
            output,
            server.proxy_url,
            "-s", f"ARCHIVER_MAX_PAGE_BYTES={CASES.MAX_PAGE_BYTES}",
            "--log-file", str(work / "crawl.log"),
        )  # fmt: skip
    runs = (output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    return {
        "work": work,
        "output": output,
        "result": result,
        "log": (work / "crawl.log").read_text(encoding="utf-8"),
        "report": json.loads(runs[-1]),
    }


def test_the_committed_fixture_site_is_what_cases_builds() -> None:
    built = CASES.files()
    on_disk = {str(p.relative_to(CASES.ROOT)): p.read_bytes() for p in CASES.ROOT.rglob("*") if p.is_file()}
    assert on_disk == built, "run: python tests/fixtures/hostile/cases.py"


def test_the_crawl_finishes_and_nothing_is_written_outside_the_archive(hostile_archive: dict[str, Any]) -> None:
    assert hostile_archive["result"].returncode == 0, hostile_archive["result"].stderr[-2000:]
    outside = {p.name for p in hostile_archive["work"].iterdir()}
    assert outside == {"archive", "crawl.log"}
    folders = {p.name for p in hostile_archive["output"].iterdir()}
    assert folders <= {"_posts", "old_post", "category", ".archiver"}


@pytest.mark.parametrize("case", CASES.CASES, ids=lambda case: case.post_id)
def test_every_case_is_a_valid_safe_post_or_a_clean_drop(case: Any, hostile_archive: dict[str, Any]) -> None:
    output, report = hostile_archive["output"], hostile_archive["report"]
    path = output / "_posts" / f"2022-05-01-{case.post_id}.md"
    errors = {(e["url"], e["error"].split(" <")[0]) for e in report["errors"]}
    kind, detail = case.expect
    if kind == "dropped":
        assert not path.exists()
        assert report["dropped"].get(detail, 0) >= 1
        url = f"http://finews.withounder.com{CASES.post_path(case)}"
        assert any(u == url and e.startswith(f"dropped: {detail}") for u, e in errors), errors
        return
    if kind == "refused":
        refused = [u for u, e in errors if e == f"refused: {detail}"]
        assert any(case.post_id in u or (case.share and case.share.get("info_code", "@") in u) for u in refused)
        if case.pad_post_page:  # the post page itself was refused: no post
            assert not path.exists()
            return
        # Archived from its post page: a media post's body is the article's HTML, its lone paragraph a <p>.
        detail = {"body": "<p>页面正文</p>"}
    text = path.read_text(encoding="utf-8")
    data = front_matter(text)
    article = parse_post(text, path.name)
    assert isinstance(data["title"], str) and data["title"] == article.title
    assert text.splitlines()[2].startswith('title: "')
    assert not sanitize.findings(article.body or "")
    assert not sanitize.sanitize_title(article.title or "").changed
    assert all(sanitize.tag_is_safe(tag) for tag in article.tags)
    for key, value in detail.items():
        if key == "body_has":
            assert all(needle in (article.body or "") for needle in value)
        elif key == "body_lacks":
            assert all(needle.lower() not in (article.body or "").lower() for needle in value)
        else:
            assert getattr(article, key) == value


def test_sanitizing_is_counted_and_undecodable_pages_refused(hostile_archive: dict[str, Any]) -> None:
    log = hostile_archive["log"]
    assert "'archiver/sanitize/removed/tag/script':" in log
    assert "'archiver/sanitize/removed/url/javascript':" in log
    assert "page refused (undecodable)" in log
    assert "'archiver/pages/refused/undecodable': 1" in log


def test_the_archive_passes_verify(hostile_archive: dict[str, Any]) -> None:
    result = run_archiver("verify", str(hostile_archive["output"]))
    assert result.returncode == 0, result.stdout


@pytest.mark.jekyll
def test_the_archive_builds_with_jekyll_and_shows_liquid_and_no_script(
    hostile_archive: dict[str, Any], jekyll_bin: str, tmp_path: Path
) -> None:
    import shutil
    import subprocess

    site = tmp_path / "site"
    shutil.copytree(hostile_archive["output"], site, ignore=shutil.ignore_patterns(".archiver"))
    (site / "_layouts").mkdir()
    for name, layout in LAYOUTS.items():
        (site / "_layouts" / name).write_text(layout, encoding="utf-8")
    (site / "_config.yml").write_text("timezone: Asia/Shanghai\nstrict_front_matter: true\n", encoding="utf-8")
    built = subprocess.run(
        [jekyll_bin, "build", "--safe", "--source", str(site), "--destination", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert not re.search(r"error|warning", built.stdout + built.stderr, re.I), built.stdout + built.stderr
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*.html")}
    liquid = pages["B04liquid"]
    # Content and excerpt show the body's Liquid as it was; nothing was evaluated or appended.
    assert liquid.count("<p>{{ site.title }} {% if x %} }} %} {% raw %}</p>") == 2
    assert "<p>第二段 {% endif %} {{</p>" in liquid
    assert "{% endif %}</p>\n</div>" not in liquid.split('<div class="excerpt">')[1].split("<p>", 2)[1]
    assert "<h1>{{ site.title }} {% raw %} }}</h1>" in pages["T14liquid"]
    assert '<h1>他说"涨停"了\\反斜杠</h1>' in pages["T01quote"]
    for name, page in pages.items():
        assert "<script" not in page.lower(), name
        assert not re.search(r"\son[a-z]+\s*=", page, re.I), name
        assert "javascript:" not in page.lower(), name


# --- redirects off the site and a charset in the HTTP header, from a small routing proxy ----------


class RouteServer(LoopbackServer):
    """A loopback HTTP proxy answering absolute URLs from a routing table (status, headers, body)."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.routes = routes
        self.requested: list[str] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.requested.append(self.path)
                self.answer(*server.routes.get(self.path, (404, {}, b"not found")))

        super().__init__(Handler)


@pytest.fixture
def routed_site() -> Iterator[RouteServer]:
    html = {"Content-Type": "text/html"}
    posts = {
        "R1redirect": CASES.Case("R1redirect", ("refused", "offsite_redirect"), share=CASES.share()),
        "R2charset": CASES.Case("R2charset", ("post", {}), share=CASES.share()),
        "R3offsite": CASES.Case("R3offsite", ("refused", "offsite_redirect"), share=None),
    }
    site = "http://finews.withounder.com"
    listing = CASES.PAGE.format(
        head_title="x",
        # A category page as the site makes it: its heading, then its post links.
        section="<h2>柳州晚报新闻</h2>\n"
        + "\n".join(f'<a href="{CASES.post_path(case)}">{name}</a>' for name, case in posts.items()),
    ).encode()
    gbk_share = CASES.SHARE_PAGE.format(
        charset="utf-8", title="朱镕基 𠮷 报头编码", time="2022-05-01 09:30:00", media="柳州晚报", body="<p>镕 正文</p>"
    ).encode("gb18030")
    routes = {
        f"{site}/": (200, html, listing),
        f"{site}/category/liuzhouwanbao.html": (200, html, listing),
        f"{site}{CASES.post_path(posts['R1redirect'])}": (200, html, CASES.post_page(posts["R1redirect"]).encode()),
        f"{site}{CASES.post_path(posts['R2charset'])}": (200, html, CASES.post_page(posts["R2charset"]).encode()),
        f"{site}{CASES.post_path(posts['R3offsite'])}": (301, {"Location": "http://evil.example/post.html"}, b""),
        CASES.share_url(posts["R1redirect"]): (302, {"Location": "http://evil.example/steal.html"}, b""),
        CASES.share_url(posts["R2charset"]): (200, {"Content-Type": "text/html; charset=gbk"}, gbk_share),
    }
    with RouteServer(routes) as server:
        yield server


def test_offsite_redirects_are_refused_and_header_charsets_honoured(routed_site: RouteServer, tmp_path: Path) -> None:
    output = tmp_path / "archive"
    result = crawl(output, routed_site.proxy_url, "--log-file", str(tmp_path / "crawl.log"))
    assert result.returncode == 0, (tmp_path / "crawl.log").read_text()[-3000:]
    assert not [url for url in routed_site.requested if "evil.example" in url]
    posts = {p.name for p in (output / "_posts").iterdir()}
    assert posts == {"2022-05-01-R1redirect.md", "2022-05-01-R2charset.md"}
    charset = parse_post((output / "_posts" / "2022-05-01-R2charset.md").read_text(encoding="utf-8"))
    assert (charset.title, charset.body) == ("朱镕基 𠮷 报头编码", "<p>镕 正文</p>")
    redirected = parse_post((output / "_posts" / "2022-05-01-R1redirect.md").read_text(encoding="utf-8"))
    assert redirected.body == "<p>页面正文</p>"  # from its post page: the article HTML of a media post
    report = json.loads((output / ".archiver" / "runs.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    refused = sorted(e["url"] for e in report["errors"] if e["error"] == "refused: offsite_redirect")
    assert refused == sorted(
        [
            CASES.share_url(CASES.Case("R1redirect", ("", None))),
            "http://finews.withounder.com/liuzhouwanbao/2022/05/01/R3offsite.html",
        ]
    )
