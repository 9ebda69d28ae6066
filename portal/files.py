"""Checking uploaded files and serving stored ones (security.md items 26-28).

Users attach files to service requests and, later, to other things. Nothing here touches
the database: ``check_uploads`` returns checked files and the caller stores them as
``StoredFile`` rows, whose random row id is the only "name" the file ever has on the
server. The name the user chose is kept as display metadata only.

The rules:

* at most ``MAX_FILE_BYTES`` (10 MB) a file and ``MAX_FILES`` (5) files a message, and a
  message is accepted whole or not at all;
* the type is decided by the CONTENT, never by the file name: PDF, PNG, JPEG, DOCX,
  XLSX, CSV and plain text are allowed, everything else is refused;
* a .docx/.xlsx is a ZIP; its directory is judged before anything is unpacked, and
  nothing is ever unpacked here, so a zip bomb costs nothing;
* the download name always ends in an extension that matches the detected type
  (``scan.png`` holding a PDF is served as ``scan.png.pdf``, a text file called
  ``run.bat`` as ``run.bat.txt``), so the operating system of whoever downloads it opens
  it with the program for what it really is. This also defuses macro-enabled Office
  files: a .docm/.xlsm is served as .docx/.xlsx, and Office refuses to run macros from
  a file with those extensions;
* files are served as attachments with ``nosniff`` and a sandboxing CSP, so the browser
  never renders them inside the portal's origin.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from flask import Response, request, send_file
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf.file import FileField, FileRequired
from wtforms import MultipleFileField

from portal.domain import DomainError

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
MAX_FILE_MB = MAX_FILE_BYTES // (1024 * 1024)

# Zip bomb limits, judged from the ZIP directory before anything is unpacked.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_ARCHIVE_ENTRIES = 2000
MAX_COMPRESSION_RATIO = 100

MAX_NAME_CHARS = 255
MAX_EXTENSION_CHARS = 16
FALLBACK_NAME = "file"

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
TEXT = "text/plain"

# The file name extensions that fit each type; the first is added when none fits.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: (".pdf",),
    PNG: (".png",),
    JPEG: (".jpg", ".jpeg"),
    DOCX: (".docx",),
    XLSX: (".xlsx",),
    CSV: (".csv",),
    TEXT: (".txt",),
}

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
)
ZIP_SIGNATURE = b"PK\x03\x04"

# The part every Office Open XML package has, and the main part of each allowed kind.
OOXML_CONTENT_TYPES = "[Content_Types].xml"
OOXML_MAIN_PARTS: tuple[tuple[str, str], ...] = (
    ("word/document.xml", DOCX),
    ("xl/workbook.xml", XLSX),
)
ZIP_FLAG_ENCRYPTED = 0x1
# What zipfile raises for a damaged archive (UnicodeDecodeError is a ValueError).
ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError)

# C0 controls other than tab, LF, FF and CR: text files may not contain them (NUL included).
FORBIDDEN_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")

# Removed from file names: C0/C1 controls (NUL included), lone surrogates (they cannot
# be encoded into a header or stored) and the bidi controls that make `\u202etxt.exe`
# display as `exe.txt`.
FORBIDDEN_NAME_CHARS = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
PATH_SEPARATORS = re.compile(r"[/\\]")
EDGE_SPACE_AND_DOTS = re.compile(r"^[\s.]+|[\s.]+$")
DRIVE_PREFIX = re.compile(r"^[A-Za-z]:")


class UploadError(DomainError):
    """An upload the user must change: ``message`` is shown to them (translated when it
    is rendered, in the request's language) beside the form's ``attachments`` field;
    ``code`` is the API's error code: "too_large", "too_many", "type_not_allowed",
    "empty" or "archive_too_large"."""

    def __init__(self, code: str, message: LazyString) -> None:
        too_much = code in ("too_large", "too_many")  # 413: the request carried more than allowed
        super().__init__(message, code=code, fields={"attachments": code}, status=413 if too_much else None)


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every rule, ready to be stored as a ``StoredFile``."""

    filename: str
    content_type: str
    data: bytes
    size: int
    sha256: str


# --- the checks ------------------------------------------------------------------------


def check_uploads(files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    """Check the files of one message, all of them before returning any, so that the
    caller stores either every file or none: a message is never half attached."""
    if len(files) > MAX_FILES:
        raise UploadError("too_many", _l("Attach at most %(limit)s files at a time.", limit=MAX_FILES))
    return [check_upload(filename, data) for filename, data in files]


def check_upload(filename: str, data: bytes) -> CheckedFile:
    """Check one file's size and content; the name the user gave only decides CSV versus
    plain text and is cleaned for display (see ``safe_filename``)."""
    name = safe_filename(filename)
    if not data:
        raise UploadError("empty", _l("%(name)s is empty.", name=name))
    if len(data) > MAX_FILE_BYTES:
        raise UploadError(
            "too_large", _l("%(name)s is larger than %(limit)s MB.", name=name, limit=MAX_FILE_MB)
        )
    content_type = detect_content_type(name, data)
    return CheckedFile(
        filename=safe_filename(filename, content_type),
        content_type=content_type,
        data=data,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def detect_content_type(name: str, data: bytes) -> str:
    """The MIME type of ``data`` judged by its content, because a file name or a
    browser-sent type is whatever the uploader wants it to be. ``name`` is used only in
    messages and to tell CSV from plain text. Raises ``UploadError`` for anything that
    is not an allowed type.

    Text is text: an HTML page with ``<script>`` named .txt is accepted as text/plain.
    It is harmless because it is only ever served as an attachment, with ``nosniff``,
    a sandboxing CSP and a download name ending in .txt."""
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data.startswith(ZIP_SIGNATURE):
        return _office_type(name, data)
    if _is_text(data):
        return CSV if name.lower().endswith(".csv") else TEXT
    raise _not_allowed(name)


def _not_allowed(name: str) -> UploadError:
    return UploadError(
        "type_not_allowed",
        _l(
            "%(name)s is not an allowed type of file. Attach PDF, PNG, JPEG, Word (.docx), "
            "Excel (.xlsx), CSV or plain text files.",
            name=name,
        ),
    )


def _office_type(name: str, data: bytes) -> str:
    """DOCX or XLSX, judged from the ZIP directory alone: no entry is decompressed, so a
    zip bomb is refused before it can cost anything, here or in whoever opens it later."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except ZIP_ERRORS:
        raise _not_allowed(name) from None
    _check_archive_size(name, entries)
    _check_archive_entries(name, entries)
    names = {entry.filename for entry in entries}
    if OOXML_CONTENT_TYPES in names:
        for main_part, content_type in OOXML_MAIN_PARTS:
            if main_part in names:
                return content_type
    raise _not_allowed(name)


def _check_archive_size(name: str, entries: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive that would unpack to too much, by the sizes its directory
    declares: too many entries, too many bytes in all, or one entry compressed so well
    that it can only be padding."""
    too_many = len(entries) > MAX_ARCHIVE_ENTRIES
    too_big = sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES
    too_dense = any(entry.file_size > MAX_COMPRESSION_RATIO * entry.compress_size for entry in entries)
    if too_many or too_big or too_dense:
        raise UploadError("archive_too_large", _l("%(name)s is too large when unpacked.", name=name))


def _check_archive_entries(name: str, entries: list[zipfile.ZipInfo]) -> None:
    """Refuse encrypted entries (they cannot be judged) and entry names that climb out of
    a folder (``..``) or are absolute, which no Office file has and a careless unzip
    tool on a user's computer would write wherever they point."""
    for entry in entries:
        if entry.flag_bits & ZIP_FLAG_ENCRYPTED or _is_unsafe_entry_name(entry.filename):
            raise _not_allowed(name)


def _is_unsafe_entry_name(entry_name: str) -> bool:
    absolute = entry_name.startswith(("/", "\\")) or DRIVE_PREFIX.match(entry_name) is not None
    return absolute or ".." in PATH_SEPARATORS.split(entry_name)


def _is_text(data: bytes) -> bool:
    """Valid UTF-8 (with or without a BOM) or UTF-16 with a BOM, with no control
    characters but tab, CR, LF and FF: binary data has NULs or invalid sequences."""
    text = _decode_text(data)
    return text is not None and FORBIDDEN_TEXT_CONTROLS.search(text) is None


def _decode_text(data: bytes) -> str | None:
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError:
        return None


# --- names -----------------------------------------------------------------------------


def safe_filename(name: str, content_type: str | None = None) -> str:
    """The user's file name, fit to display and to put in a Content-Disposition header.

    Files are stored under their row id, so the name is only metadata; it must still not
    mislead or break anything: folders are dropped (``C:\\Users\\x\\a.pdf`` is ``a.pdf``),
    control characters, lone surrogates and bidi controls are removed (U+202E makes
    ``\\u202etxt.exe`` look like ``exe.txt``), and it is NFC-normalised, trimmed and cut to
    255 characters keeping the extension. Any script is kept: ``合同.pdf`` stays
    ``合同.pdf`` (Werkzeug's ``secure_filename`` would leave ``pdf``). Windows device names
    such as ``CON`` are kept: nothing is ever written to disk under a user's name.

    With ``content_type``, an extension that fits the type is added unless the name
    already ends in one, and an empty name becomes ``file`` plus that extension."""
    cleaned = PATH_SEPARATORS.split(name)[-1]
    cleaned = FORBIDDEN_NAME_CHARS.sub("", cleaned)
    cleaned = unicodedata.normalize("NFC", cleaned)
    cleaned = EDGE_SPACE_AND_DOTS.sub("", cleaned) or FALLBACK_NAME
    if content_type is not None:
        cleaned = _with_extension_for(cleaned, content_type)
    return _shorten(cleaned)


def _with_extension_for(name: str, content_type: str) -> str:
    extensions = EXTENSIONS.get(content_type)
    if not extensions or name.lower().endswith(extensions):
        return name
    return name + extensions[0]


def _shorten(name: str) -> str:
    """Cut a long name in its stem, so that the extension (what the OS opens it by)
    survives."""
    if len(name) <= MAX_NAME_CHARS:
        return name
    stem, extension = posixpath.splitext(name)
    if len(extension) > MAX_EXTENSION_CHARS:
        return name[:MAX_NAME_CHARS]
    return stem[: MAX_NAME_CHARS - len(extension)] + extension


# --- requests and responses ------------------------------------------------------------


def uploads_from_request(field: str = "attachments") -> list[tuple[str, bytes]]:
    """The (name, bytes) of the files posted in ``field``, for ``check_uploads``.

    An empty file input (no name, no data) is what a browser sends when nothing was
    chosen, so it is skipped. Each file is read to at most one byte over the limit: that
    is enough for ``check_upload`` to refuse it, without holding a huge file in memory."""
    uploads = []
    for storage in request.files.getlist(field):
        name = storage.filename or ""
        data = storage.stream.read(MAX_FILE_BYTES + 1)
        if name or data:
            uploads.append((name, data))
    return uploads


def download_response(filename: str, content_type: str, data: bytes, *, inline: bool = False) -> Response:
    """A stored file as a download, never rendered by the browser in the portal's
    origin: an attachment, with ``nosniff`` (the browser keeps to ``content_type``), a
    CSP that sandboxes it should it be opened anyway, and no caching, since files hold
    client data. Werkzeug writes the name as ``filename*=UTF-8''…`` plus an ASCII
    ``filename=`` fallback when it is not ASCII.

    ``inline`` (a PDF the portal made, previewed in a tab of its own): shown by the
    browser's PDF viewer instead of saved, under the same sandbox (Chromium's viewer
    shows it so), and kept out of frames (``frame-ancestors 'none'``, and the
    X-Frame-Options every answer has)."""
    response = send_file(
        io.BytesIO(data),
        mimetype=content_type,
        as_attachment=not inline,
        download_name=safe_filename(filename, content_type),
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'" + ("; frame-ancestors 'none'" if inline else "")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def upload_field(label: LazyString) -> MultipleFileField:
    """A form's attachments: the page checks the limits before sending (``app.js``), so
    a file too large keeps what was typed without a round trip; the server checks again."""
    return MultipleFileField(label, render_kw={
        "data-max-files": MAX_FILES, "data-max-bytes": MAX_FILE_BYTES,
        "data-too-many": _l("Attach at most %(limit)s files at a time.", limit=MAX_FILES),
        "data-too-large": _l("%(name)s is larger than %(limit)s MB.", name="{name}", limit=MAX_FILE_MB),
    })


def spreadsheet_field(label: LazyString) -> FileField:
    """An import's file: one CSV file or Excel workbook, its size checked by the page
    before sending (``app.js``) and by the server again (``check_spreadsheet``)."""
    return FileField(label, validators=[FileRequired(_l("Choose a file to import."))],
                     render_kw={"accept": f".csv,.xlsx,{CSV},{XLSX}", "data-max-bytes": MAX_FILE_BYTES,
                                "data-too-large": _l("%(name)s is larger than %(limit)s MB.", name="{name}",
                                                     limit=MAX_FILE_MB)})


def check_spreadsheet(storage) -> CheckedFile:
    """An uploaded import's file (a werkzeug ``FileStorage``), once checked as every
    upload is (no archive is unpacked before its directory passes), and only a CSV file
    or an Excel workbook."""
    checked = check_upload(storage.filename or "", storage.stream.read(MAX_FILE_BYTES + 1))
    if checked.content_type not in (CSV, TEXT, XLSX):
        raise UploadError("type_not_allowed", _l("%(name)s is neither a CSV file nor an Excel workbook (.xlsx).",
                                                 name=checked.filename))
    return checked
