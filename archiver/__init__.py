"""archiver: a Scrapy crawler and archiver for Jekyll news sites.

The library, in layers (import-linter's contracts in ``pyproject.toml`` keep them one-way):

- ``cli`` -- the ``archiver`` command line, one module per subcommand;
- ``running`` -- one crawl in this process, or N workers on one Redis queue;
- ``distributed`` -- scrapy-redis: the add-on, the scheduler, the shared lock;
- ``capture`` (WARC, replay), ``tools`` (verify, rotate), ``devserver`` (the loopback site server);
- ``extensions``, ``downloadermiddlewares``, ``spidermiddlewares`` -- the Scrapy components, and
  ``monitors`` (the spidermon suite of the optional ``[monitor]`` extra);
- ``crawl`` -- the crawl-wide state those components share (failure log, incremental state);
- ``config`` -- reading and validating ``ARCHIVER_*`` settings;
- ``store`` -- the archive on disk (atomic files, index, page store, exporter, run log, lock);
- ``format`` -- the pure post format (render, parse, unrender, sanitize): no Scrapy;
- leaves: ``items`` (the article), ``signals``, ``exceptions``.

``settings`` is the Scrapy project's settings module and holds every ``ARCHIVER_*`` default.
Site-specific knowledge lives in ``spiders/``; the item pipelines in ``pipelines/``.
"""

__version__ = "0.1.0"
