"""Raw capture and replay: WARC records of every request and response, and a crawl answered from them.

The only modules that import warcio (import-linter checks it), and only when the capture is on.
May import the Scrapy component layers and below.
"""
