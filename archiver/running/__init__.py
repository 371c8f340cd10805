"""Running crawls: one crawl in this process (``runner``: the lock, the exit code, the summary), and N
worker processes on one Redis queue (``workers``, with a private ``localredis``).

Used by the command line; may import everything below it, never ``archiver.cli``.
"""
