"""Tools over an archive that need no crawl: ``verify`` (lint an archive), ``rotate`` (old posts to
``old_post/``), ``status`` (the text of the archive's health). May import the store and the format;
never Scrapy components.
"""
