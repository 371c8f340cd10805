"""Reading and validating ``ARCHIVER_*`` settings at start-up, for every component.

Components call these from ``from_crawler``. A bad value raises
``SettingError`` with a sentence that says how to fix it, and the crawl
fails at start, not halfway through. (``NotConfigured`` is only for optional
components that are off: Scrapy quietly disables a component that raises it,
which must never happen to one the archive needs.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from archiver.exceptions import SettingError
from archiver.store.statedir import state_path

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

__all__ = ["SettingError", "debug_logged", "enable", "flag", "number", "output_dir", "positive_int", "state_dir"]


def output_dir(settings: BaseSettings) -> Path:
    """``ARCHIVER_OUTPUT_DIR``, created when missing; it must be a writable folder."""
    value = settings.get("ARCHIVER_OUTPUT_DIR")
    if not value or not str(value).strip():
        raise SettingError(
            "ARCHIVER_OUTPUT_DIR is empty: set it to the archive folder, e.g. -s ARCHIVER_OUTPUT_DIR=output"
        )
    path = Path(str(value)).expanduser()
    if path.exists() and not path.is_dir():
        raise SettingError(f"ARCHIVER_OUTPUT_DIR={path} is a file: point it at a folder for the archive")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(f"ARCHIVER_OUTPUT_DIR={path} cannot be created ({exc.strerror})") from None
    return path


def positive_int(settings: BaseSettings, name: str, *, minimum: int = 1) -> int:
    """An integer setting of at least ``minimum``."""
    raw = settings.get(name)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise SettingError(f"{name}={raw!r} is not a whole number: set it to one, e.g. -s {name}=3") from None
    if value < minimum:
        raise SettingError(f"{name}={value} is too small: it must be at least {minimum}")
    return value


def flag(settings: BaseSettings, name: str) -> bool:
    """A boolean setting; accepts what Scrapy's getbool accepts, refuses anything else."""
    try:
        return bool(settings.getbool(name))
    except ValueError:
        raise SettingError(f"{name}={settings.get(name)!r} is not a boolean: use True/False or 1/0") from None


def number(settings: BaseSettings, name: str) -> float:
    """A setting of seconds (or any amount) that must not be negative."""
    raw = settings.get(name)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise SettingError(f"{name}={raw!r} is not a number: set it to one, e.g. -s {name}=1.5") from None
    if value < 0 or value != value:
        raise SettingError(f"{name}={value} must not be negative")
    return value


def state_dir(settings: BaseSettings) -> Path:
    """``<ARCHIVER_OUTPUT_DIR>/.archiver``, created when missing: runs.jsonl, the lock, the page store."""
    return state_path(output_dir(settings))


def debug_logged(settings: BaseSettings) -> bool:
    """Whether the crawl's log can show DEBUG records, so that building them per page is worth it.

    Scrapy's handler lets ``LOG_LEVEL`` and above through, but leaves the root logger at NOTSET: a
    ``logger.debug`` call builds its record either way. With ``LOG_ENABLED`` off Scrapy installs no
    handler and the process's own may want everything, so the answer is then yes.
    """
    if not settings.getbool("LOG_ENABLED"):
        return True
    level = settings.get("LOG_LEVEL")
    if isinstance(level, str):
        level = logging.getLevelName(level.strip().upper())
    return not isinstance(level, int) or level <= logging.DEBUG


def enable(settings: BaseSettings, name: str, component: str, order: int) -> None:
    """Add ``component`` (an import path) to the component dict ``name`` at ``order``, from an add-on.

    For the optional components a run asks for by a setting: listed in the project's dicts, each
    would be built by every run, and say at WARNING level why it is off (Scrapy logs the reason a
    ``NotConfigured`` gives). A component the project or the command line names already, ``None``
    included (turned off), is left as they set it.
    """
    components = dict(settings.getdict(name))
    components.setdefault(component, order)
    settings.set(name, components, priority=settings.getpriority(name) or "addon")
