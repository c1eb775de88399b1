"""Who may do what: API keys (``Authorization: Bearer``) and curators' browser sessions.

* Changes (upload, correct, replace, delete) need a curator key: no key or an unknown
  or revoked one is 401 (with ``WWW-Authenticate: Bearer``), a reader key 403.
* Reads are open unless ``KB_READ_KEYS_REQUIRED``; then they need a key of either
  role, or a signed-in browser session (the pages and the file links they show).

Keys are checked by the knowledge base (hash only, constant time); a revoked key fails
at its next use, and so does every session signed in with it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from search.kb import KnowledgeBase
from search.keys import Key
from search.settings import Settings

from .deps import KBDep
from .errors import ProblemError
from .sessions import Session

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An API key made with `kb keys create NAME [--role curator|reader]`",
)
CredentialsDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _missing() -> ProblemError:
    return ProblemError(
        401,
        "key_missing",
        "this needs an API key: send 'Authorization: Bearer <key>'",
        headers={"WWW-Authenticate": 'Bearer realm="kb"'},
    )


def _verified(kb: KnowledgeBase, credentials: HTTPAuthorizationCredentials) -> Key:
    key = kb.verify_key(credentials.credentials)
    if key is None:
        raise ProblemError(
            401,
            "key_invalid",
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": 'Bearer realm="kb", error="invalid_token"'},
        )
    return key


def require_curator(kb: KBDep, credentials: CredentialsDep) -> Key:
    """The curator key of the request; 401 without a valid key, 403 for a reader key."""
    if credentials is None:
        raise _missing()
    key = _verified(kb, credentials)
    if key.role != "curator":
        raise ProblemError(
            403,
            "curator_required",
            f"the key {key.name!r} is a {key.role} key; changes need a curator key",
        )
    return key


CuratorDep = Annotated[Key, Depends(require_curator)]


def signed_in(request: Request, kb: KnowledgeBase) -> Session | None:
    """The request's session if a key that is still active signed it in (its role as the
    key has it now), else None."""
    sessions = getattr(request.app.state, "sessions", None)
    session = sessions.load(request) if sessions is not None else None
    if session is None or not session.signed_in:
        return None
    key = kb.active_key(session.key, session.created or "")
    if key is None:
        return None
    return Session(session.csrf, key.name, key.created_at, key.role)


def require_reader(request: Request, kb: KBDep, credentials: CredentialsDep) -> None:
    """With ``KB_READ_KEYS_REQUIRED``: a valid key of either role, or a signed-in session."""
    if credentials is not None:
        _verified(kb, credentials)
        return
    if signed_in(request, kb) is None:
        raise _missing()


def read_dependencies(settings: Settings) -> list[DependsParam]:
    """Dependencies of the read routes: none while reads are open."""
    return [Depends(require_reader)] if settings.read_keys_required else []


def read_problems(settings: Settings) -> tuple[int, ...]:
    """Error statuses the read routes add by the settings (401 when reads need a key)."""
    return (401,) if settings.read_keys_required else ()
