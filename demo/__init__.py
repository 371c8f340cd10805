"""The bundled demo site: invented finews-style articles rendered in the real site's page structure.

``spiders/demo/site/<host>/...`` is what ``archiver demo``, the tests and the benchmarks serve through
:class:`archiver.devserver.server.SiteServer` (package data of the spiders, so an installed
``archiver`` has it); ``demo/expected/`` is what a perfect archive of it holds. Both are written by
:mod:`demo.generate` (see ``demo/README.md``), which is not installed: it lives in the checkout.
"""
