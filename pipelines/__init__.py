"""Item pipelines of the archiver, one job each: validate, normalize, sanitize, window, export.

Importing any of them registers the fast itemadapter adapter for ``Article`` items
(``archiver.articleadapter``): every pipeline wraps every item in an ``ItemAdapter``.
"""

from archiver.crawl import articleadapter

articleadapter.register()
