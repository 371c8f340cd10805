"""The archiver's custom signals, as ``scrapy/signals.py`` holds Scrapy's: plain objects, no imports.

Send with ``crawler.signals.send_catch_log(signal=..., **kwargs)``; connect with
``crawler.signals.connect(handler, signal=...)``.
"""

# A page failed for good (retries exhausted, or an answer that cannot be used).
# Arguments: url (str), reason (str, e.g. "failed: http_404").
page_failed = object()
