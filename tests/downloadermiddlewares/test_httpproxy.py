"""The proxy middleware routes every request as Scrapy's does, asking about no_proxy once per host."""

from __future__ import annotations

from unittest import mock

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.httpproxy import HttpProxyMiddleware as ScrapyHttpProxy

from archiver import settings as project_settings
from archiver.downloadermiddlewares import httpproxy
from archiver.downloadermiddlewares.httpproxy import HttpProxyMiddleware

ENV = {
    "http_proxy": "http://user:pa%20ss@127.0.0.1:3128",
    "https_proxy": "http://127.0.0.1:3129",
    "no_proxy": "bypassed.example,.internal.example",
}
URLS = [
    "http://finews.withounder.com/",
    "http://finews.withounder.com/category/a.html",
    "https://finews.withounder.com/",
    "http://bypassed.example/x",
    "http://a.internal.example/x",
    "https://bypassed.example/x",
    "http://finews.zning.xyz/html_News/NewsShare.html?infoCode=NW1",
]


def routed(mw: ScrapyHttpProxy, request: Request) -> tuple[object, object, object, object]:
    mw.process_request(request)
    return (
        request.meta.get("proxy"),
        request.headers.get(b"Proxy-Authorization"),
        request.meta.get("_auth_proxy"),
        request.meta.get("_scheme_proxy"),
    )


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("proxied")
def test_same_routes_as_scrapy_and_one_no_proxy_lookup_per_host() -> None:
    ours, scrapys = HttpProxyMiddleware(), ScrapyHttpProxy()
    with mock.patch.object(httpproxy, "proxy_bypass", wraps=httpproxy.proxy_bypass) as bypass:
        for _ in range(3):
            for url in URLS:
                assert routed(ours, Request(url)) == routed(scrapys, Request(url)), url
    assert bypass.call_count == len({u.split("/")[0] + u.split("/")[2] for u in URLS})


@pytest.mark.usefixtures("proxied")
@pytest.mark.parametrize(
    "meta",
    [{"proxy": "http://other:8080"}, {"proxy": "http://u:p@other:8080"}, {"proxy": None}],
)
def test_a_request_with_its_own_proxy_is_scrapys_case(meta: dict[str, object]) -> None:
    ours, scrapys = HttpProxyMiddleware(), ScrapyHttpProxy()
    for url in URLS:
        assert routed(ours, Request(url, meta=dict(meta))) == routed(scrapys, Request(url, meta=dict(meta)))


@pytest.mark.usefixtures("proxied")
def test_a_retried_request_keeps_its_route() -> None:
    ours = HttpProxyMiddleware()
    request = Request(URLS[0])
    first = routed(ours, request)
    assert first[0] == "http://127.0.0.1:3128" and first[1]
    assert routed(ours, request) == first


def test_without_a_proxy_in_the_environment_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    ours = HttpProxyMiddleware()
    assert routed(ours, Request(URLS[0])) == (None, None, None, None)


def test_the_project_lists_it_in_place_of_scrapys() -> None:
    base = project_settings.DOWNLOADER_MIDDLEWARES_BASE
    assert "scrapy.downloadermiddlewares.httpproxy.HttpProxyMiddleware" not in base
    assert base["archiver.downloadermiddlewares.httpproxy.HttpProxyMiddleware"] == 750
