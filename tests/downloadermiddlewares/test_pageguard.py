"""archiver.downloadermiddlewares.pageguard: a body that only the connection's close ends must end its document."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse

from archiver.downloadermiddlewares.pageguard import cut_short

PAGE = b"<!DOCTYPE html><html><head></head><body><section>text</section></body></html>\n"


@pytest.mark.parametrize(
    ("body", "headers", "cut"),
    [
        (PAGE, {}, False),
        (PAGE + b"<!-- served by x -->\n", {}, False),  # a comment after the document ends it too
        (PAGE.replace(b"</html>", b"</HTML >"), {}, False),
        (PAGE[: len(PAGE) // 2], {}, True),  # close-delimited, halfway: nothing tells but the document
        (PAGE[: len(PAGE) // 2], {"Content-Length": str(len(PAGE) // 2)}, False),  # its length says whole
        (PAGE[: len(PAGE) // 2], {"Transfer-Encoding": "chunked"}, False),  # its last chunk says whole
        (b"<html><body>" + b"x" * 10_000 + b"</body></html>", {}, False),
    ],
)
def test_a_close_delimited_html_body_must_end_its_document(body: bytes, headers: dict[str, str], cut: bool) -> None:
    response = HtmlResponse("http://finews.withounder.com/", body=body, headers=headers, encoding="utf-8")
    assert cut_short(response) is cut


def test_only_html_is_judged() -> None:
    assert not cut_short(TextResponse("http://x/a.txt", body=b"half a", encoding="utf-8"))
    assert not cut_short(Response("http://x/a.bin", body=b"\x00\x01"))
