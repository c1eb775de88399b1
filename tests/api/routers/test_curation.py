"""The service office's pages (/verwaltung), server-rendered and without JavaScript:
sign-in and session cookie, CSRF tokens, the list with filters, upload with a result per
file, the edit form, delete with confirmation, the change log; everything escaped."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from api.sessions import COOKIE
from tests.api.conftest import Curation
from tests.api.files import report_pdf, scanned_pdf

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the form carries no CSRF token"
    return found[1]


def curator_key(curation: Curation) -> str:
    return curation.curator["Authorization"].removeprefix("Bearer ")


def sign_in(client: TestClient, key: str):
    form = client.get("/verwaltung/anmelden")
    return client.post(
        "/verwaltung/anmelden",
        data={"csrf_token": token(form.text), "schluessel": key},
        follow_redirects=False,
    )


@pytest.fixture
def office(curation: Curation) -> Curation:
    """A client signed in with the curator key."""
    answer = sign_in(curation.client, curator_key(curation))
    assert (answer.status_code, answer.headers["location"]) == (303, "/verwaltung")
    return curation


def test_pages_send_a_visitor_to_the_sign_in_form(curation: Curation):
    for path in (
        "/verwaltung",
        "/verwaltung/hochladen",
        "/verwaltung/aenderungen",
        "/verwaltung/berichte/wasserstoff-forum",
        "/verwaltung/berichte/wasserstoff-forum/loeschen",
    ):
        answer = curation.client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/verwaltung/anmelden")
    form = curation.client.get("/verwaltung/anmelden")
    assert form.status_code == 200 and '<html lang="de">' in form.text
    assert 'type="password"' in form.text and token(form.text)


def test_the_session_cookie_is_signed_httponly_strict_and_expires(curation: Curation):
    answer = sign_in(curation.client, curator_key(curation))
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}=")]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={curation.settings.session_minutes * 60}" in cookie
    assert curator_key(curation) not in cookie  # the key itself never leaves the server
    page = curation.client.get("/verwaltung")
    assert page.status_code == 200 and "Angemeldet: geschaeftsstelle" in page.text
    # a changed cookie is worth nothing
    value = curation.client.cookies[COOKIE]
    curation.client.cookies.clear()
    curation.client.cookies.set(
        COOKIE, value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
    )
    assert curation.client.get("/verwaltung", follow_redirects=False).status_code == 303


def test_an_expired_session_is_signed_out(office: Curation, monkeypatch: pytest.MonkeyPatch):
    later = time.time() + office.settings.session_minutes * 60 + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert office.client.get("/verwaltung", follow_redirects=False).status_code == 303


def test_sign_in_refuses_missing_token_wrong_key_and_a_reader(curation: Curation):
    client = curation.client
    form = client.get("/verwaltung/anmelden")
    no_token = client.post("/verwaltung/anmelden", data={"schluessel": curator_key(curation)})
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text
    assert client.get("/verwaltung", follow_redirects=False).status_code == 303
    wrong = client.post(
        "/verwaltung/anmelden", data={"csrf_token": token(form.text), "schluessel": "kb_falsch"}
    )
    assert wrong.status_code == 401 and "unbekannt oder wurde widerrufen" in wrong.text
    reader = sign_in(client, curation.reader["Authorization"].removeprefix("Bearer "))
    assert (reader.status_code, reader.headers["location"]) == (303, "/")
    denied = client.get("/verwaltung")
    assert denied.status_code == 403 and "curator" in denied.text


def test_sign_in_starts_a_new_session_and_sign_out_ends_it(curation: Curation):
    client = curation.client
    anonymous = token(client.get("/verwaltung/anmelden").text)
    sign_in(client, curator_key(curation))
    page = client.get("/verwaltung")
    assert token(page.text) != anonymous  # no fixation of the form token
    refused = client.post("/verwaltung/abmelden", data={})
    assert refused.status_code == 403
    out = client.post(
        "/verwaltung/abmelden", data={"csrf_token": token(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303 and COOKIE not in client.cookies
    assert client.get("/verwaltung", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions_at_once(office: Curation):
    assert office.client.get("/verwaltung").status_code == 200
    office.kb.revoke_key("geschaeftsstelle")
    assert office.client.get("/verwaltung", follow_redirects=False).status_code == 303


def test_the_list_shows_the_columns_and_filters(office: Curation):
    page = office.client.get("/verwaltung").text
    for column in (
        "Titel",
        "Datum",
        "Veranstaltung",
        "Format",
        "Seiten",
        "Abschnitte",
        "Letzte Änderung",
    ):
        assert f">{column}</th>" in page
    assert "4 Berichte" in page and "Forum Wasserstoff" in page and "04.03.2021" in page
    assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d UTC", page)
    by_text = office.client.get("/verwaltung", params={"q": "kunststoff"}).text
    assert "1 Berichte" in by_text and "Kreislaufwirtschaft in der Kunststoffindustrie" in by_text
    by_year = office.client.get("/verwaltung", params={"jahr": "2022"}).text
    assert "Fachkräfte sichern im Mittelstand" in by_year and "Kunststoff" not in by_year
    by_topic = office.client.get("/verwaltung", params={"thema": "Energie"}).text
    assert "Wasserstoff für die Region" in by_topic and "1 Berichte" in by_topic
    assert '<option value="Energie" selected>' in by_topic
    nothing = office.client.get("/verwaltung", params={"jahr": "abc", "q": "gibtesnicht"})
    assert nothing.status_code == 200 and "Keine Berichte" in nothing.text


def _upload(office: Curation, files: list[tuple[str, bytes]], **fields):
    form = office.client.get("/verwaltung/hochladen")
    assert 'enctype="multipart/form-data"' in form.text and "multiple" in form.text
    data = {"csrf_token": token(form.text), **fields}
    return office.client.post(
        "/verwaltung/hochladen",
        data=data,
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
    )


def test_upload_page_shows_each_files_outcome_and_reason(office: Curation):
    pdf = report_pdf("Wasserstofftag", marker="Seitenlauf")
    answer = _upload(
        office,
        [("tag.pdf", pdf), ("scan.pdf", scanned_pdf()), ("falsch.txt", pdf)],
        event="Wasserstofftag 2024",
    )
    assert answer.status_code == 201
    rows = re.findall(r'<tr class="outcome (\w+)">(.*?)</tr>', answer.text, re.S)
    assert [status for status, _ in rows] == ["added", "failed", "failed"]
    assert "neu aufgenommen" in rows[0][1]
    assert "kein Text gefunden" in rows[1][1]
    assert "Inhalt ist aber ein PDF" in rows[2][1]
    doc_id = re.search(r'href="/verwaltung/berichte/([^"]+)"', rows[0][1])[1]
    assert office.kb.get_document(doc_id)["event"] == "Wasserstofftag 2024"
    again = _upload(office, [("tag.pdf", pdf)])
    assert again.status_code == 200 and "unverändert" in again.text


def test_upload_without_a_token_or_session_changes_nothing(office: Curation):
    before = office.kb.stats()["documents"]
    files = [("files", ("a.pdf", report_pdf(), "application/pdf"))]
    no_token = office.client.post("/verwaltung/hochladen", files=files)
    assert no_token.status_code == 403 and "Sicherheitsprüfung" in no_token.text
    office.client.cookies.clear()
    signed_out = office.client.post("/verwaltung/hochladen", files=files)
    assert signed_out.status_code == 401 and "Bitte melden Sie sich an" in signed_out.text
    assert office.kb.stats()["documents"] == before


def test_uploaded_text_and_metadata_are_escaped_everywhere(office: Curation):
    evil = "<script>alert(1)</script>"
    name = "<img src=x onerror=alert(1)>.pdf"
    answer = _upload(office, [(name, report_pdf())], title=evil, event='"><img src=x>')
    assert answer.status_code == 201
    assert name not in answer.text and "&lt;img src=x onerror=alert(1)&gt;.pdf" in answer.text
    for page in (
        office.client.get("/verwaltung").text,
        office.client.get("/verwaltung/aenderungen").text,
    ):
        assert evil not in page and "<img src=x>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    doc_id = office.kb.find_documents(text="script")[1][0]["id"]
    for path in (
        f"/verwaltung/berichte/{doc_id}",
        f"/verwaltung/berichte/{doc_id}/loeschen",
        f"/berichte/{doc_id}",
    ):
        page = office.client.get(path).text
        assert evil not in page and "&lt;script&gt;" in page


def test_edit_form_saves_and_refuses_bad_values_in_german(office: Curation):
    form = office.client.get("/verwaltung/berichte/wasserstoff-forum")
    assert 'value="Wasserstoff für die Region"' in form.text
    assert 'value="Wasserstoff, Energie"' in form.text
    fields = {
        "title": "Wasserstoff im Emsland",
        "date": "2021-03-04",
        "event": "Forum Wasserstoff",
        "location": "Lingen",
        "organiser": "Industrieinitiative Emsland",
        "topics": "Wasserstoff, Elektrolyse",
        "language": "",
        "source_url": "",
    }
    no_token = office.client.post("/verwaltung/berichte/wasserstoff-forum", data=fields)
    assert no_token.status_code == 403
    assert office.kb.get_document("wasserstoff-forum")["title"] == "Wasserstoff für die Region"
    saved = office.client.post(
        "/verwaltung/berichte/wasserstoff-forum",
        data={**fields, "csrf_token": token(form.text)},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "gespeichert" in office.client.get(saved.headers["location"]).text
    doc = office.kb.get_document("wasserstoff-forum")
    assert (doc["title"], doc["topics"]) == (
        "Wasserstoff im Emsland",
        ["Wasserstoff", "Elektrolyse"],
    )
    bad = office.client.post(
        "/verwaltung/berichte/wasserstoff-forum",
        data={**fields, "date": "31.02.2021", "csrf_token": token(form.text)},
    )
    assert bad.status_code == 422 and "JJJJ-MM-TT" in bad.text
    assert 'value="31.02.2021"' in bad.text  # what was typed stays in the form
    assert office.kb.get_document("wasserstoff-forum")["date"] == "2021-03-04"


def test_delete_asks_first_and_needs_the_token(office: Curation):
    confirm = office.client.get("/verwaltung/berichte/kreislauf/loeschen")
    assert confirm.status_code == 200 and "Bericht löschen?" in confirm.text
    assert "Kreislaufwirtschaft in der Kunststoffindustrie" in confirm.text
    assert office.kb.get_document("kreislauf")  # asking deletes nothing
    refused = office.client.post("/verwaltung/berichte/kreislauf/loeschen", data={})
    assert refused.status_code == 403 and office.kb.get_document("kreislauf")
    done = office.client.post(
        "/verwaltung/berichte/kreislauf/loeschen",
        data={"csrf_token": token(confirm.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    listing = office.client.get(done.headers["location"]).text
    assert "wurde gelöscht" in listing and "Kunststoffindustrie</a>" not in listing
    again = office.client.post(
        "/verwaltung/berichte/kreislauf/loeschen", data={"csrf_token": token(confirm.text)}
    )
    assert again.status_code == 404


def test_change_log_page_shows_who_what_when_and_the_fields(office: Curation):
    form = office.client.get("/verwaltung/berichte/fachkraefte-treffen")
    doc = office.kb.get_document("fachkraefte-treffen")
    office.client.post(
        "/verwaltung/berichte/fachkraefte-treffen",
        data={
            "csrf_token": token(form.text),
            "title": "Fachkräfte gewinnen",
            "date": doc["date"],
            "event": doc["event"],
            "topics": ", ".join(doc["topics"]),
        },
    )
    page = office.client.get("/verwaltung/aenderungen").text
    first = page.split("<tbody>")[1].split("</tr>")[0]
    assert "geschaeftsstelle" in first and "Angaben korrigiert" in first
    assert "<del>Fachkräfte sichern im Mittelstand</del>" in first
    assert "<ins>Fachkräfte gewinnen</ins>" in first
    assert "5 Änderungen" in page and "hinzugefügt" in page


def test_near_duplicates_are_flagged_in_the_list(office: Curation):
    import hashlib

    from search.models import Chunk, NewDocument

    text = office.kb.get_document("wasserstoff-forum")["text"]
    office.kb.add_document(
        "wasserstoff-kopie",
        NewDocument(
            source="x/kopie.md",
            sha256=hashlib.sha256(b"kopie").hexdigest(),
            text=text + " Ergänzung.",
            chunks=[Chunk(text, 0)],
            title="Kopie",
        ),
    )
    page = office.client.get("/verwaltung").text
    row = page.split('id="bericht-wasserstoff-forum"')[1].split("</tr>")[0]
    assert "Fast gleicher Text wie" in row and "wasserstoff-kopie" in row


def test_a_page_opened_from_another_site_keeps_the_curators_session(office: Curation):
    # SameSite=Strict: a link from another site arrives without the session cookie; the
    # visitor's cookie the sign-in page sets then must not replace the session
    session = office.client.cookies[COOKIE]
    office.client.cookies.clear()
    form = office.client.get("/verwaltung/anmelden")
    assert COOKIE + "=" not in form.headers["set-cookie"]
    assert "kb_anmeldung=" in form.headers["set-cookie"]
    office.client.cookies.set(COOKIE, session)
    assert office.client.get("/verwaltung").status_code == 200
