"""Where the server's secret key comes from (see ``Settings.secret_key``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from directory.sealing import Sealer, new_key, parse_key
from scimd.settings import Settings

log = logging.getLogger("scimd.keys")


def _embedded_key_file(database_url: str) -> Path | None:
    """The key file beside an SQLite database file; None for other stores."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    return database.with_name(database.stem + ".key")


def _read_or_make(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return path.read_text()
    with os.fdopen(descriptor, "w") as file:
        file.write(new_key() + "\n")
    log.info("made a secret key file", extra={"path": str(path)})
    return path.read_text()


def load_sealer(settings: Settings, database_url: str) -> Sealer:
    """The sealer for the configured key; ``InvalidValue`` for a malformed one.

    ``database_url`` is the store's (an SQLite store's key file sits beside it).
    """
    text: str | None = None
    if settings.secret_key is not None:
        text = settings.secret_key.get_secret_value()
    elif settings.secret_key_file is not None:
        text = settings.secret_key_file.read_text()
    else:
        embedded = _embedded_key_file(database_url)
        if embedded is not None:
            text = _read_or_make(embedded)
    older = []
    if settings.secret_key_previous is not None:
        older = [
            parse_key(part)
            for part in settings.secret_key_previous.get_secret_value().split(",")
            if part.strip()
        ]
    if text is None:
        log.warning("no secret key configured (SCIMD_SECRET_KEY): MFA enrolment will answer 503")
        return Sealer(None, older)
    return Sealer(parse_key(text), older)
