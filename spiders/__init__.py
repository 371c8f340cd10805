"""Spiders: the only site-specific code of the project (page structure, URL scheme, host names)."""
