"""Raw capture and replay: WARC records of every request and response, their index, a crawl answered
from them, and a crawl answered by a web archive's captures.

``warc`` (the capture middleware, revisits), ``warcfile`` (the files: by day and size, locked,
repaired), ``cdxj`` (the index next to them), ``revisits`` (the last capture of each URL),
``replay`` (``archiver rebuild --from-warc``), ``wacz`` (``archiver wacz``); ``cdx`` (a Wayback
endpoint's CDX API, both dialects), ``discovery`` (start requests from the CDX listing) and
``wayback`` (raw ``id_`` replays in place of the live site: ``--from-wayback``).
The only modules that import warcio (import-linter checks it), and only when the capture is on.
May import the Scrapy component layers and below.
"""
