"""PageStore.mark: notes tied to the stored body of a page."""

from __future__ import annotations

from archiver.store.pagestore import LISTING, PageStore, StoredPage


def stored(tmp_path, body: bytes = b"<html>v1</html>") -> PageStore:
    store = PageStore(tmp_path / "pages")
    store.open()
    store.save(LISTING, StoredPage("http://h/", 200, {"ETag": ['"1"']}, body, {"callback": "parse"}))
    return store


def test_mark_sets_extra_on_the_page_with_that_body(tmp_path) -> None:
    store = stored(tmp_path)
    assert store.mark(LISTING, "http://h/", b"<html>v1</html>", "settled", {"posts": ["a"]})
    page = store.load(LISTING, "http://h/")
    assert page is not None
    assert page.extra == {"callback": "parse", "settled": {"posts": ["a"]}}
    assert page.body == b"<html>v1</html>"
    assert page.conditional_headers() == {"If-None-Match": '"1"'}


def test_mark_refuses_another_body_and_an_absent_page(tmp_path) -> None:
    store = stored(tmp_path)
    assert not store.mark(LISTING, "http://h/", b"<html>v2</html>", "settled", {})
    assert not store.mark(LISTING, "http://other/", b"<html>v1</html>", "settled", {})
    page = store.load(LISTING, "http://h/")
    assert page is not None and "settled" not in page.extra


def test_mark_with_the_same_value_writes_nothing(tmp_path) -> None:
    store = stored(tmp_path)
    assert store.mark(LISTING, "http://h/", b"<html>v1</html>", "settled", {"posts": []})
    path = store.path(LISTING, "http://h/")
    before = path.stat()
    assert store.mark(LISTING, "http://h/", b"<html>v1</html>", "settled", {"posts": []})
    after = path.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
