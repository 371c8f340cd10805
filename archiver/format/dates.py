"""Publication times: parsing the strings pages show, and the forms a post file uses.

News sites of this kind show Beijing time without an offset; a post file's
front matter writes the instant as ``YYYY-MM-DD HH:MM:SS +0800``.

The finews generator's first versions (2021-12-08, see ``archiver.post``)
wrote the API's Beijing time with no offset at all. YAML, and so Jekyll, reads
such a date as UTC: the site published those posts at that instant, shown
8 hours late. The archive keeps the instant the site published; writing it in
that *bare* form means writing the instant's UTC wall time without offset
(``format_post_date(value, bare=True)``), and the generator named the file
after the day of that string (``post_day(value, bare=True)``).
"""

from __future__ import annotations

import datetime as dt
import re

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")

# Digits may be full-width on scraped pages; NFKC-like folding is done by int().
_TIME = re.compile(
    r"""^\s*
    (?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?
    (?:\s*(?:T|\s)\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})(?:\s*[:：分]\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?)?)?
    \s*(?P<tz>Z|[+-]\d{2}:?\d{2})?
    \s*$""",
    re.X,
)


class DateError(ValueError):
    """A time string that names no valid instant."""


def parse_time(text: str, default_tz: dt.tzinfo = BEIJING) -> dt.datetime:
    """Parse a page's time string into an aware datetime; a string without offset is in ``default_tz``."""
    match = _TIME.match(text)
    if match is None:
        raise DateError(f"not a time: {text[:60]!r}")
    parts = match.groupdict()
    try:
        value = dt.datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
        )
    except ValueError as exc:
        raise DateError(f"not a valid time: {text[:60]!r} ({exc})") from None
    tz = parts["tz"]
    if tz is None:
        return value.replace(tzinfo=default_tz)
    if tz == "Z":
        return value.replace(tzinfo=dt.UTC)
    sign = 1 if tz[0] == "+" else -1
    digits = tz[1:].replace(":", "")
    offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    if offset >= dt.timedelta(hours=24):
        raise DateError(f"not a valid offset: {text[:60]!r}")
    return value.replace(tzinfo=dt.timezone(sign * offset))


def has_no_offset(text: str) -> bool:
    """Whether a time string names no offset (a post file's bare date); False for what is not a time."""
    match = _TIME.match(text)
    return match is not None and match.group("tz") is None


def beijing(value: dt.datetime) -> dt.datetime:
    """The same instant in Beijing time (a naive value is taken as Beijing time already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=BEIJING)
    return value.astimezone(BEIJING)


def _bare(value: dt.datetime) -> dt.datetime:
    """The wall time a date without offset must show to name ``value``: UTC, as YAML reads it."""
    return beijing(value).astimezone(dt.UTC)


def format_post_date(value: dt.datetime, bare: bool = False) -> str:
    """The front matter form: ``YYYY-MM-DD HH:MM:SS +0800``; ``bare``: the same instant without offset (UTC)."""
    if bare:
        return _bare(value).strftime("%Y-%m-%d %H:%M:%S")
    return beijing(value).strftime("%Y-%m-%d %H:%M:%S +0800")


def post_day(value: dt.datetime, bare: bool = False) -> str:
    """The ``YYYY-MM-DD`` of a post file name: the post's day in Beijing time, or the day of its bare date."""
    return (_bare(value) if bare else beijing(value)).strftime("%Y-%m-%d")
