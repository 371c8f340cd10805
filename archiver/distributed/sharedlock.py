"""``SharedRunLock``: the run lock the workers of one distributed run hold together.

``archiver.distributed.addon.RedisAddon`` puts it in place of ``LockExtension`` when
``ARCHIVER_REDIS_URL`` is set. It imports no Redis.
"""

from __future__ import annotations

import fcntl
import logging
import os

from scrapy import signals
from scrapy.crawler import Crawler

from archiver.exceptions import LockedError
from archiver.store.lock import lock_path, read_holder, record_refused

logger = logging.getLogger(__name__)


class SharedRunLock:
    """The archive's run lock, shared by the workers of a distributed run.

    ``archiver.store.lock`` keeps two runs off one archive with an exclusive ``flock``; the workers of
    one distributed run are one run, so each takes the same lock file *shared*: any number of
    workers (on one machine, or on several over a filesystem with ``flock``, such as NFSv4)
    hold it together, while a plain run, which takes it exclusively, can neither start while
    they work nor be joined by them (both sides exit with code 3, locked).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.path = lock_path(crawler.settings.get)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(fd)
            os.close(fd)
            error = LockedError(self.path, holder)
            record_refused(crawler.settings.get, error)
            logger.error("%s", error)
            raise error from None
        self.fd: int | None = fd
        logger.info("sharing the run lock %s with the other workers of the run", self.path)
        crawler.signals.connect(self.engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedRunLock:
        return cls(crawler)

    def engine_stopped(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the last descriptor of the file releases the flock
