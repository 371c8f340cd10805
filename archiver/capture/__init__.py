"""Raw capture and replay: WARC records of every request and response, a crawl answered from them,
and a crawl answered by a web archive's captures (``cdx``, ``wayback``, ``discovery``).

The only modules that import warcio (import-linter checks it), and only when the capture is on.
May import the Scrapy component layers and below.
"""
