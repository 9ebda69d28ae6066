"""Byte-identical .docx packages.

python-docx stamps every zip entry with the current time, so two saves of the same
document differ. Re-zipping with fixed entry metadata in a fixed order makes a
document's SHA-256 identify its content.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

# The earliest date a zip entry can carry; any constant would do.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CONTENT_TYPES = "[Content_Types].xml"
_UNIX = 3
_FILE_MODE = 0o100644 << 16


def repack(package: bytes, replace: Mapping[str, bytes] | None = None) -> bytes:
    """Return ``package`` re-zipped deterministically, with some entries replaced.

    ``[Content_Types].xml`` comes first (some readers expect it there), then the other
    entries sorted by name.
    """
    with ZipFile(BytesIO(package)) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    entries.update(replace or {})
    out = BytesIO()
    with ZipFile(out, "w", ZIP_DEFLATED) as target:
        for name in sorted(entries, key=lambda name: (name != _CONTENT_TYPES, name)):
            info = ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = ZIP_DEFLATED
            info.create_system = _UNIX
            info.external_attr = _FILE_MODE
            target.writestr(info, entries[name])
    return out.getvalue()
