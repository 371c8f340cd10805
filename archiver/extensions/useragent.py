"""The User-Agent a crawl sends: the project, its version, and the operator's contact (``ARCHIVER_CONTACT``).

Crawler etiquette: a site's operators should be able to tell who is crawling them and how to reach
that person. ``UserAgentAddon`` (listed in ``ADDONS``) composes ``USER_AGENT`` from
``ARCHIVER_CONTACT`` when the crawler is set up:

- no contact: ``archiver/0.1.0 (Scrapy archiver for Jekyll news sites)``;
- an e-mail address: ``archiver/0.1.0 (+mailto:ops@example.org)``;
- an http(s) URL: ``archiver/0.1.0 (+https://example.org/crawler)``.

It sets ``USER_AGENT`` at the add-on priority, below the project's settings, a spider's
``custom_settings`` and the command line, so a ``USER_AGENT`` set anywhere by the user wins. A
contact that is not an address or a URL, or holds a newline or any control character (it would
forge or break the request's headers), is a ``SettingError``: the run stops before it fetches.
"""

from __future__ import annotations

import re

from scrapy.settings import BaseSettings

from archiver import __version__
from archiver.exceptions import SettingError

PROJECT = "Scrapy archiver for Jekyll news sites"
# What may stand in a User-Agent comment: no spaces, no parentheses, no control characters.
_EMAIL = re.compile(r"[^\s()@<>]+@[^\s()@<>]+\.[^\s()@<>]+")
_URL = re.compile(r"https?://[^\s()<>]+", re.IGNORECASE)


def contact(settings: BaseSettings) -> str:
    """``ARCHIVER_CONTACT`` as it goes into the User-Agent (``mailto:...`` or a URL); empty when unset."""
    raw = settings.get("ARCHIVER_CONTACT")
    value = "" if raw is None else str(raw)
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise SettingError(
            f"ARCHIVER_CONTACT={value!r} holds a newline or a control character: "
            "set it to one e-mail address or URL, e.g. -s ARCHIVER_CONTACT=ops@example.org"
        )
    value = value.strip()
    if not value:
        return ""
    address = value[len("mailto:") :] if value.lower().startswith("mailto:") else value
    if _EMAIL.fullmatch(address):
        return f"mailto:{address}"
    if _URL.fullmatch(value):
        return value
    raise SettingError(
        f"ARCHIVER_CONTACT={value!r} is neither an e-mail address nor an http(s) URL: "
        "e.g. -s ARCHIVER_CONTACT=ops@example.org or -s ARCHIVER_CONTACT=https://example.org/crawler"
    )


def user_agent(contact: str, version: str = __version__) -> str:
    """``archiver/<version> (+<contact>)``, or the project's name in the comment without a contact."""
    return f"archiver/{version} ({'+' + contact if contact else PROJECT})"


class UserAgentAddon:
    """Sets ``USER_AGENT`` from ``ARCHIVER_CONTACT``, unless the user set ``USER_AGENT`` itself."""

    def update_settings(self, settings: BaseSettings) -> None:
        # Validated even when USER_AGENT is set: a bad setting is refused wherever it is given.
        settings.set("USER_AGENT", user_agent(contact(settings)), priority="addon")
