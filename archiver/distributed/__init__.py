"""Distributed crawling on scrapy-redis: the add-on that switches the scheduler, the scheduler and its
run protocol, the run lock the workers share.

Only ``scheduler`` imports scrapy-redis; nothing here imports Redis unless ``ARCHIVER_REDIS_URL``
is set. May import the component layers and below.
"""
