"""archiver: a Scrapy crawler and archiver for Jekyll news sites.

The library part of the project: settings, the article item, the pure post
rendering and parsing, the exporter (the only code that writes files) and
the command line. Site-specific knowledge lives in ``spiders/``.
"""

__version__ = "0.1.0"
