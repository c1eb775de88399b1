"""Curators' sessions in the browser: a signed cookie with an expiry and a CSRF token.

Signing in at ``/verwaltung`` with a curator key sets the cookie ``kb_session``: the
key's name and creation time and a random CSRF token, signed with itsdangerous
(HMAC) and time-stamped, so a changed or expired cookie is worth nothing. It is
``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends it)
and ``Secure`` behind HTTPS. Every request checks that the key is still active, so
revoking a key ends its sessions at once. Forms carry the session's CSRF token; a post
without it is refused. Visitors who are not signed in get a session without a key, so
the sign-in form carries a token too.

The secret comes from ``KB_SESSION_SECRET`` or, without it, from ``session.key`` in the
index folder (made once, readable by its owner only), so sessions survive a restart
and every server on the same index accepts them.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from search.keys import Key
from search.settings import Settings

COOKIE = "kb_session"
#: the cookie of a visitor not signed in (the sign-in form's token): a separate name, so a
#: page opened from another site, which gets no SameSite=Strict cookie, cannot replace a
#: curator's session with an empty one
ANONYMOUS_COOKIE = "kb_anmeldung"
#: the secret's file in the index folder when KB_SESSION_SECRET is not set
SECRET_FILE = "session.key"
_SALT = "kb-verwaltung"


@dataclass(frozen=True)
class Session:
    """A browser's session: its CSRF token and, once signed in, the key's name and role."""

    csrf: str
    key: str | None = None
    created: str | None = None  # the key's creation time: a key made anew is another key
    role: str | None = None

    @property
    def signed_in(self) -> bool:
        """Whether a key signed this session in."""
        return self.key is not None

    def check_csrf(self, token: str | None) -> bool:
        """Whether a form's token is this session's (compared in constant time)."""
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


def load_secret(settings: Settings, index: Path) -> str:
    """The signing secret: the setting, else the index folder's ``session.key`` (made
    with 256 random bits and mode 0600 the first time; a concurrent maker's wins)."""
    if settings.session_secret:
        return settings.session_secret
    path = Path(index) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        secret = secrets.token_urlsafe(32)
        out.write(secret + "\n")
    return secret


class Sessions:
    """Makes, reads and clears session cookies."""

    def __init__(self, secret: str, minutes: int) -> None:
        self.max_age = minutes * 60
        self._signer = URLSafeTimedSerializer(secret, salt=_SALT)

    def load(self, request: Request) -> Session | None:
        """The request's session if its cookie is intact and not expired, else None."""
        for name in (COOKIE, ANONYMOUS_COOKIE):
            session = self._read(request.cookies.get(name))
            if session is not None and session.signed_in == (name == COOKIE):
                return session
        return None

    def _read(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        return Session(data["csrf"], data.get("key"), data.get("created"), data.get("role"))

    @staticmethod
    def new(key: Key | None = None) -> Session:
        """A new session (a fresh CSRF token), signed in with ``key`` if given."""
        token = secrets.token_urlsafe(32)
        if key is None:
            return Session(token)
        return Session(token, key.name, key.created_at, key.role)

    def store(self, request: Request, response: Response, session: Session) -> None:
        """Set the cookie of ``session`` on ``response`` (a signed-in one replaces the
        visitor's)."""
        value = self._signer.dumps(
            {
                "csrf": session.csrf,
                "key": session.key,
                "created": session.created,
                "role": session.role,
            }
        )
        if session.signed_in:
            self._delete(response, ANONYMOUS_COOKIE)
        response.set_cookie(
            COOKIE if session.signed_in else ANONYMOUS_COOKIE,
            value,
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    @classmethod
    def clear(cls, response: Response) -> None:
        """Delete the cookies (signing out)."""
        cls._delete(response, COOKIE)
        cls._delete(response, ANONYMOUS_COOKIE)

    @staticmethod
    def _delete(response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", httponly=True, samesite="strict")
