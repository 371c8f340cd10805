"""The archiver's custom signals, as ``scrapy/signals.py`` holds Scrapy's: plain objects, no imports.

Send with ``crawler.signals.send_catch_log(signal=..., **kwargs)``; connect with
``crawler.signals.connect(handler, signal=...)``.
"""

# A page failed for good (retries exhausted, or an answer that cannot be used).
# Arguments: url (str), reason (str, e.g. "failed: http_404").
page_failed = object()

# A page the spider read is not what its site makes (archiver.crawl.sitehealth): sent once per
# page and finding. Arguments: page_class (str, e.g. "post"), finding (str, e.g. "no_title"),
# url (str), description (str, one sentence: what the finding means).
site_changed = object()
