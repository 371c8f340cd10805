"""The pure post format: rendering, parsing, unrendering and sanitizing post files.

``post`` (render and parse post files), ``frontmatter`` (YAML scalars), ``dates``, ``slug``,
``htmlsource`` (exact cuts from HTML text), ``unrender`` (post source from a rendered body),
``sanitize`` (nh3). Pure functions over text: may import ``archiver.items``,
``archiver.exceptions`` and libraries that are not Scrapy (pyyaml, nh3, xpinyin); never Scrapy,
Twisted, Redis or warcio (import-linter checks it), so tools that only read an archive need no
crawler.
"""
