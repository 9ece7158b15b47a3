"""The console's session: a sealed cookie (AES-GCM under the server's secret key) holding the
admin API credential of the signed-in admin and the session's CSRF token.

Sealed rather than only signed because the credential inside is a bearer secret: the
browser keeps it but cannot read it, and a copied cookie stops working when the credential
is revoked (a user session ends at sign-out, lock or block, as the admin API checks it on
every call). The cookie is HttpOnly, SameSite=Strict, limited to ``/console``, and Secure
whenever the console is served over HTTPS.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass

from starlette.requests import Request
from starlette.responses import Response

from directory.sealing import PREFIX, Sealer

COOKIE = "scimd_console"
PATH = "/console"
_OWNER = "console-session"
MAX_AGE_SECONDS = 8 * 3600


@dataclass(frozen=True)
class ConsoleSession:
    bearer: str
    """The admin API credential: an admin-scoped API token, or a user's sign-in session."""
    who: str
    """Whom the pages greet: the user's name, or the token's prefix."""
    csrf: str
    """What every form posts back (``csrf``), compared in constant time."""
    expires: float
    """Unix time after which the cookie is refused, whatever the credential's own expiry."""


def new_session(bearer: str, who: str, *, now: float | None = None) -> ConsoleSession:
    started = time.time() if now is None else now
    return ConsoleSession(bearer, who, secrets.token_urlsafe(32), started + MAX_AGE_SECONDS)


def read_session(request: Request, sealer: Sealer) -> ConsoleSession | None:
    """The request's session, or None without a cookie that opens and is still in time."""
    text = request.cookies.get(COOKIE)
    # Sealer.open passes text without its prefix through (secrets stored before sealing);
    # a cookie must always be sealed.
    if not text or not text.startswith(PREFIX + "."):
        return None
    opened = sealer.open(text, _OWNER)
    if opened is None:
        return None
    try:
        fields = json.loads(opened)
        session = ConsoleSession(**fields)
    except (ValueError, TypeError):
        return None
    if not isinstance(session.expires, int | float) or session.expires <= time.time():
        return None
    return session


def set_session(
    response: Response, request: Request, session: ConsoleSession, sealer: Sealer
) -> None:
    response.set_cookie(
        COOKIE,
        sealer.seal(json.dumps(asdict(session)), _OWNER),
        max_age=MAX_AGE_SECONDS,
        path=PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
