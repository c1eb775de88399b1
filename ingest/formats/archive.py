"""Safe opening of ZIP-based files (DOCX): the archive is measured before a parser sees it.

A zip bomb (a small file that unpacks to gigabytes, or has hundreds of thousands of
entries) is rejected with bounded memory and time:

* entries: the central-directory signatures are counted in the raw bytes before
  ``zipfile`` builds its member list (an upper bound of what it would create);
* size: every member is really unpacked, in 1 MiB steps, counting the bytes and
  stopping as soon as the total exceeds the limit; the sizes the headers declare are
  not trusted (a header that understates a member's size fails its CRC check).
"""

from __future__ import annotations

import io
import zipfile
import zlib

from ..errors import ExtractionError
from .base import Limits, format_size

_CENTRAL_DIRECTORY_ENTRY = b"PK\x01\x02"
_STEP = 2**20


def check_archive(data: bytes, limits: Limits, kind: str, kind_de: str) -> None:
    """Raise ExtractionError unless the ZIP ``data`` stays within ``limits``.

    ``kind`` names the file in messages ("Word file", German ``kind_de``).
    Damaged archives (bad CRC, truncated, unknown compression) raise ``damaged``.
    """
    if data.count(_CENTRAL_DIRECTORY_ENTRY) > limits.max_archive_members:
        raise _too_many_members(limits, kind, kind_de)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > limits.max_archive_members:
                raise _too_many_members(limits, kind, kind_de)
            unpacked = 0
            for member in members:
                with archive.open(member) as stream:
                    while step := stream.read(_STEP):
                        unpacked += len(step)
                        if unpacked > limits.max_unpacked_bytes:
                            raise _too_large(limits, kind, kind_de)
    except ExtractionError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression
        raise ExtractionError(
            "damaged",
            f"not a valid {kind} (damaged ZIP archive)",
            f"keine gültige {kind_de} (beschädigtes ZIP-Archiv)",
        ) from exc


def _too_many_members(limits: Limits, kind: str, kind_de: str) -> ExtractionError:
    limit = limits.max_archive_members
    return ExtractionError(
        "archive_too_many_members",
        f"{kind} has more than {limit} parts (limit KB_MAX_ARCHIVE_MEMBERS; a zip bomb?)",
        f"{kind_de} hat mehr als {limit} Teile (Grenze KB_MAX_ARCHIVE_MEMBERS; eine ZIP-Bombe?)",
    )


def _too_large(limits: Limits, kind: str, kind_de: str) -> ExtractionError:
    limit = format_size(limits.max_unpacked_bytes)
    return ExtractionError(
        "archive_too_large",
        f"{kind} unpacks to more than {limit} (limit KB_MAX_UNPACKED_BYTES; a zip bomb?)",
        f"{kind_de} wird entpackt größer als {limit} (Grenze KB_MAX_UNPACKED_BYTES; "
        "eine ZIP-Bombe?)",
    )
