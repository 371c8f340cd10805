"""A loopback static-site server with HTTP-proxy semantics, for the demo, tests and benchmarks.

``routing`` (URL to file, validators), ``faults`` (what to inject), ``handler`` (one connection's
requests), ``server`` (``SiteServer``), ``__main__`` (``python -m archiver.devserver``). Standard
library only: it imports nothing else of the project.
"""
