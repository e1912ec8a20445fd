"""Storage errors, and URLs shown without their passwords."""

from __future__ import annotations

from sqlalchemy.engine import make_url


class StorageError(RuntimeError):
    """The storage cannot be opened or reached."""


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    if "://" not in url:
        return url  # a journal file's path
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: show its scheme only
        return url.split(":", 1)[0] + ":***"


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password (if any) replaced by ``***``: for driver messages."""
    try:
        password = make_url(url).password
    except Exception:
        return text
    if password:
        text = text.replace(str(password), "***")
    return text
