"""Session secrets and CSRF tokens of the curation pages."""

from __future__ import annotations

import stat
from pathlib import Path

from api.sessions import SECRET_FILE, Session, load_secret
from search.settings import Settings


def test_the_secret_is_made_once_in_the_index_folder_readable_by_its_owner(tmp_path: Path):
    settings = Settings(index=tmp_path, embedder="fake")
    first = load_secret(settings, tmp_path)
    path = tmp_path / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 43 and load_secret(settings, tmp_path) == first  # a restart keeps it
    chosen = settings.model_copy(update={"session_secret": "aus-der-umgebung"})
    assert load_secret(chosen, tmp_path) == "aus-der-umgebung"


def test_a_form_token_must_be_the_sessions_own():
    session = Session("token-der-sitzung")
    assert session.check_csrf("token-der-sitzung")
    for other in (None, "", "token-der-sitzunG", "token-der-sitzung "):
        assert not session.check_csrf(other)
    assert not session.signed_in and Session("t", "amt", "2026", "curator").signed_in
