"""Upload bodies are read as they stream in: too large is refused while streaming, with
little memory, and nothing is written. The app is called as ASGI directly, so the test
sees exactly how much of the body the server pulled."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import anyio
import pytest

from api.app import create_app
from api.sessions import Sessions
from api.uploads import UploadLimits
from search.kb import KnowledgeBase
from search.settings import Settings
from tests.api.files import report_pdf

CHUNK = 64 * 2**10
BOUNDARY = b"grenze4711"


def part_head(name: str = "files", filename: str = "gross.pdf") -> bytes:
    return (
        b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data; name=\"" + name.encode()
        + b"\"; filename=\"" + filename.encode() + b"\"\r\nContent-Type: application/pdf\r\n\r\n"
    )  # fmt: skip


def endless_file(total: int) -> Iterator[bytes]:
    """A multipart body whose one file part holds ``total`` bytes, made as it is read."""
    yield part_head() + b"%PDF-1.7\n"
    sent = 0
    block = b"0" * CHUNK
    while sent < total:
        yield block
        sent += CHUNK
    yield b"\r\n--" + BOUNDARY + b"--\r\n"


class Served:
    """The app with an open knowledge base and a curator key, called as ASGI."""

    def __init__(self, settings: Settings) -> None:
        self.kb = KnowledgeBase.open(settings)
        self.key = self.kb.create_key("amt", "curator")
        self.app = create_app(settings, self.kb)
        self.app.state.kb = self.kb  # what the lifespan does
        self.app.state.sessions = Sessions("geheim", 60)

    def post(self, chunks: Iterator[bytes], headers: dict[str, str] | None = None):
        """(status, headers, body, bytes of the body the app pulled)."""
        pulled = 0
        start: dict = {}
        body = bytearray()
        headers = {
            "authorization": f"Bearer {self.key}",
            "content-type": "multipart/form-data; boundary=" + BOUNDARY.decode(),
            **(headers or {}),
        }

        async def receive():
            nonlocal pulled
            chunk = next(chunks, None)
            if chunk is None:
                return {"type": "http.request", "body": b"", "more_body": False}
            pulled += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/v1/documents",
            "raw_path": b"/api/v1/documents",
            "query_string": b"",
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        anyio.run(self.app, scope, receive, send)
        response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return start["status"], response_headers, bytes(body), pulled


@pytest.fixture
def served(settings: Settings):
    server = Served(settings.model_copy(update={"max_file_bytes": 2**20}))
    yield server
    server.kb.close()


def test_a_file_over_the_limit_is_refused_while_it_streams(served: Served):
    tracemalloc.start()
    try:
        status, headers, body, pulled = served.post(endless_file(200 * 2**20))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413
    assert b'"code":"too_large"' in body and b"Datei zu gro" in body
    assert headers["connection"] == "close"
    # the server stopped reading just past the 1 MiB limit, not at 200 MiB
    assert pulled < 2**20 + 3 * CHUNK
    assert peak < 16 * 2**20
    assert served.kb.stats()["documents"] == 0 and served.kb.changes()[0] == 0


def test_with_the_default_limit_a_big_body_never_sits_in_memory(settings: Settings):
    server = Served(settings)  # KB_MAX_FILE_BYTES: 50 MiB
    try:
        tracemalloc.start()
        try:
            status, _, _, pulled = server.post(endless_file(60 * 2**20))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        server.kb.close()
    assert status == 413
    assert 50 * 2**20 < pulled < 50 * 2**20 + 3 * CHUNK
    assert peak < 16 * 2**20  # parts spill to a temporary file beyond 1 MiB


def test_a_declared_length_over_the_limit_is_refused_before_reading(served: Served):
    limits = UploadLimits.from_settings(served.kb.settings)
    status, _, body, pulled = served.post(
        endless_file(10 * 2**20), headers={"content-length": str(limits.max_body + 1)}
    )
    assert (status, pulled) == (413, 0)
    assert b'"code":"body_too_large"' in body


def test_more_files_than_allowed_are_refused_when_the_extra_part_begins(served: Served):
    limit = served.kb.settings.max_upload_files
    pdf = report_pdf(pages=1)

    def files() -> Iterator[bytes]:
        for number in range(limit + 5):
            yield part_head(filename=f"b{number}.pdf") + pdf + b"\r\n"
        yield b"--" + BOUNDARY + b"--\r\n"

    status, _, body, pulled = served.post(files())
    assert status == 413 and b'"code":"too_many_files"' in body
    assert pulled < (limit + 2) * (len(pdf) + 200)
    assert served.kb.stats()["documents"] == 0


def test_a_long_text_field_is_refused(served: Served):
    def body() -> Iterator[bytes]:
        yield b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
        for _ in range(100):
            yield b"x" * CHUNK
        yield b"\r\n--" + BOUNDARY + b"--\r\n"

    status, _, answer, pulled = served.post(body())
    assert status == 413 and b'"code":"field_too_large"' in answer
    assert pulled < 3 * CHUNK


def test_a_file_in_a_text_field_is_a_422(served: Served):
    def body() -> Iterator[bytes]:
        yield part_head(name="title") + b"%PDF-1.7\r\n--" + BOUNDARY + b"--\r\n"

    status, _, answer, _ = served.post(body())
    assert status == 422 and b'"name":"title"' in answer


def test_without_a_key_the_body_is_not_read(served: Served):
    status, headers, _, pulled = served.post(
        endless_file(10 * 2**20), headers={"authorization": ""}
    )
    assert (status, pulled) == (401, 0)
    assert headers["www-authenticate"].startswith("Bearer")


def test_a_body_cut_off_before_its_closing_boundary_ingests_nothing(served: Served):
    text = "Ein Bericht über Wasserstoff in der Region, der mitten im Satz".encode()

    def body() -> Iterator[bytes]:
        yield part_head(filename="bericht.txt").replace(b"application/pdf", b"text/plain")
        yield text  # and then the body ends: no closing boundary

    status, _, answer, _ = served.post(body())
    assert status == 400 and b'"code":"malformed_body"' in answer
    assert served.kb.stats()["documents"] == 0


def test_a_text_part_in_the_file_field_is_a_422_naming_it(served: Served):
    def body() -> Iterator[bytes]:
        yield b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="files"\r\n\r\n'
        yield b"kein Dateiteil\r\n--" + BOUNDARY + b"--\r\n"

    status, _, answer, _ = served.post(body())
    assert status == 422 and b"must be a file" in answer
