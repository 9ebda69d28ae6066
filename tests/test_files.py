"""Upload checks and downloads of stored files (security.md items 26-28), without a
database: every file is built in memory."""

from __future__ import annotations

import base64
import io
import zipfile
from urllib.parse import quote

import docx
import pytest
from hypothesis import given, settings, strategies as st

from portal import files
from portal.files import (
    CSV,
    DOCX,
    JPEG,
    MAX_FILE_BYTES,
    MAX_FILES,
    PDF,
    PNG,
    TEXT,
    XLSX,
    CheckedFile,
    UploadError,
    check_upload,
    check_uploads,
    download_response,
    safe_filename,
    uploads_from_request,
)

MB = 1024 * 1024

# --- files built in memory -------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
JPEG_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"This program cannot be run in DOS mode.\r\n"
CONTENT_TYPES_XML = '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def zip_bytes(entries: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def docx_shaped(extra: dict[str, bytes | str] | None = None) -> bytes:
    """The two parts that make a ZIP look like a .docx, plus ``extra``."""
    return zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, "word/document.xml": "<w:document/>", **(extra or {})})


def docx_bytes() -> bytes:
    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("合同 — contract")
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    """A real workbook from openpyxl, or a minimal hand-made one where it is missing
    (it is not a dependency of the portal)."""
    try:
        import openpyxl
    except ImportError:
        return zip_bytes({"[Content_Types].xml": CONTENT_TYPES_XML, "xl/workbook.xml": "<workbook/>"})
    out = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "合同"
    workbook.save(out)
    return out.getvalue()


def with_encrypted_flag(data: bytes) -> bytes:
    """Set the "encrypted" bit of every entry in the ZIP directory (zipfile cannot write
    encrypted entries): the flags are 8 bytes into each central directory header."""
    patched = bytearray(data)
    start = patched.find(b"PK\x01\x02")
    while start != -1:
        patched[start + 8] |= 0x1
        start = patched.find(b"PK\x01\x02", start + 4)
    return bytes(patched)


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """A .docx-shaped ZIP with a 200 MB entry of zeros, about 200 KB on disk, written
    1 MB at a time so that building it stays light."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES_XML)
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/zeros.bin", "w", force_zip64=True) as entry:
            chunk = bytes(MB)
            for _ in range(200):
                entry.write(chunk)
    return out.getvalue()


def forbid_unpacking(monkeypatch) -> None:
    """Make any later attempt to open a ZIP entry, to read or to write, fail the test:
    call it once the test's files are built."""

    def refuse(*args, **kwargs):
        raise AssertionError("an archive entry was unpacked")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)
    monkeypatch.setattr(zipfile.ZipFile, "read", refuse)


def refused(filename: str, data: bytes) -> str:
    with pytest.raises(UploadError) as error:
        check_upload(filename, data)
    return error.value.code


# --- allowed types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "filename, make, content_type",
    [
        ("scan.pdf", lambda: PDF_BYTES, PDF),
        ("pixel.png", lambda: PNG_1X1, PNG),
        ("photo.jpg", lambda: JPEG_HEADER, JPEG),
        ("contract.docx", docx_bytes, DOCX),
        ("figures.xlsx", xlsx_bytes, XLSX),
        ("figures.csv", lambda: "name,amount\r\n合同,1\r\n".encode(), CSV),
        ("notes.txt", lambda: "line one\n\tline two\f\r\n".encode(), TEXT),
    ],
)
def test_allowed_types_are_accepted_with_their_content_type(monkeypatch, filename, make, content_type):
    data = make()
    forbid_unpacking(monkeypatch)
    checked = check_upload(filename, data)
    assert checked.content_type == content_type
    assert checked.filename == filename
    assert checked.data == data and checked.size == len(data)
    assert len(checked.sha256) == 64


def test_the_content_decides_not_the_name():
    checked = check_upload("scan.png", PDF_BYTES)
    assert checked.content_type == PDF
    assert checked.filename == "scan.png.pdf"  # opened by a PDF viewer once downloaded


def test_text_file_with_a_misleading_extension_downloads_as_txt():
    assert check_upload("run.bat", b"del /q C:\\*\r\n").filename == "run.bat.txt"


def test_html_named_txt_is_plain_text():
    """Text is text: it is only ever served as an attachment with nosniff."""
    checked = check_upload("page.txt", b"<html><script>alert(1)</script></html>")
    assert (checked.content_type, checked.filename) == (TEXT, "page.txt")


def test_csv_needs_the_csv_name_and_may_have_a_bom():
    assert check_upload("FIGURES.CSV", "\ufeffa;b\n1;2\n".encode()).content_type == CSV
    assert check_upload("figures.dat", b"a;b\n1;2\n").content_type == TEXT


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_text_with_a_bom_is_accepted(encoding):
    data = ("\ufeff" if encoding != "utf-16" else "") + "合同\r\nđơn hàng\r\n"
    assert check_upload("notes.txt", data.encode(encoding)).content_type == TEXT


def test_macro_enabled_workbook_downloads_as_xlsx():
    """Office will not run macros from a file named .xlsx."""
    checked = check_upload("budget.xlsm", xlsx_bytes())
    assert (checked.content_type, checked.filename) == (XLSX, "budget.xlsm.xlsx")


# --- refused content -------------------------------------------------------------------


def test_renamed_windows_executable_is_refused():
    assert refused("invoice.pdf", WINDOWS_EXE) == "type_not_allowed"


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)),  # binary garbage
        "合同".encode("utf-16-le"),  # UTF-16 without a BOM
        b"text with a \x00 NUL",
        b"text with an \x1b[31m escape",
        b"\xef\xbb\xbftext with a \x07 bell",
        "\ufeffUTF-16 with a \x00 NUL".encode("utf-16"),
        b"\xff\xfe\x00\x00" + "UTF-32".encode("utf-32-le"),
        b"truncated UTF-8 \xe5\x90",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    ],
)
def test_binary_data_named_txt_is_refused(data):
    assert refused("notes.txt", data) == "type_not_allowed"


def test_zip_that_is_not_an_office_file_is_refused():
    assert refused("archive.docx", zip_bytes({"hello.txt": "hello"})) == "type_not_allowed"
    assert refused("archive.docx", zip_bytes({"word/document.xml": "<w:document/>"})) == "type_not_allowed"


def test_damaged_zip_is_refused():
    assert refused("contract.docx", docx_bytes()[:-30]) == "type_not_allowed"


def test_zip_bomb_is_refused_without_unpacking(monkeypatch, zip_bomb):
    forbid_unpacking(monkeypatch)
    assert len(zip_bomb) < MAX_FILE_BYTES
    assert refused("contract.docx", zip_bomb) == "archive_too_large"


def test_entry_compressed_too_well_is_refused(monkeypatch):
    bomb = docx_shaped({"word/media/zeros.bin": bytes(MB)})  # 1 MB, ratio about 1000
    forbid_unpacking(monkeypatch)
    assert refused("contract.docx", bomb) == "archive_too_large"


def test_archive_with_too_many_entries_is_refused(monkeypatch):
    four_entries = docx_shaped({"a.xml": "<a/>", "b.xml": "<b/>"})
    forbid_unpacking(monkeypatch)
    monkeypatch.setattr(files, "MAX_ARCHIVE_ENTRIES", 3)
    assert refused("contract.docx", four_entries) == "archive_too_large"


def test_archive_unpacking_to_too_much_is_refused(monkeypatch):
    document = docx_bytes()  # about 800 KB unpacked
    forbid_unpacking(monkeypatch)
    monkeypatch.setattr(files, "MAX_UNPACKED_BYTES", 10_000)
    assert refused("contract.docx", document) == "archive_too_large"


def test_encrypted_entries_are_refused():
    assert refused("contract.docx", with_encrypted_flag(docx_shaped())) == "type_not_allowed"


@pytest.mark.parametrize("entry", ["../evil.xml", "word/../../evil.xml", "/etc/evil", "C:/evil.xml", "word\\..\\evil"])
def test_entries_outside_the_archive_are_refused(entry):
    assert refused("contract.docx", docx_shaped({entry: "<x/>"})) == "type_not_allowed"


# --- sizes and counts ------------------------------------------------------------------


def test_empty_file_is_refused():
    assert refused("notes.txt", b"") == "empty"


def test_ten_megabytes_are_accepted_one_byte_more_is_not():
    assert check_upload("big.pdf", PDF_BYTES.ljust(MAX_FILE_BYTES, b" ")).size == MAX_FILE_BYTES
    assert refused("big.pdf", PDF_BYTES.ljust(MAX_FILE_BYTES + 1, b" ")) == "too_large"


def test_five_files_are_accepted_six_are_refused_as_a_set():
    five = [(f"scan{i}.pdf", PDF_BYTES) for i in range(MAX_FILES)]
    assert [checked.filename for checked in check_uploads(five)] == [name for name, _ in five]
    with pytest.raises(UploadError) as error:
        check_uploads(five + [("scan5.pdf", PDF_BYTES)])
    assert error.value.code == "too_many"


def test_one_bad_file_refuses_the_whole_message():
    with pytest.raises(UploadError) as error:
        check_uploads([("scan.pdf", PDF_BYTES), ("invoice.pdf", WINDOWS_EXE)])
    assert error.value.code == "type_not_allowed"


def test_no_files_is_no_files():
    assert check_uploads([]) == []


def test_checked_file_is_frozen():
    checked = check_upload("scan.pdf", PDF_BYTES)
    assert isinstance(checked, CheckedFile)
    with pytest.raises(AttributeError):
        checked.filename = "other.pdf"  # type: ignore[misc]


def test_message_names_the_file_and_the_limit(app):
    with pytest.raises(UploadError) as error:
        check_upload("../big\u202e.pdf", PDF_BYTES.ljust(MAX_FILE_BYTES + 1, b" "))
    with app.test_request_context():
        assert str(error.value.message) == "big.pdf is larger than 10 MB."


# --- names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../x.pdf", "x.pdf"),
        ("..", "file"),
        ("CON", "CON"),
        ("a\x00b.pdf", "ab.pdf"),
        ("\u202etxt.exe.pdf", "txt.exe.pdf"),
        ("\u2066a\u200fb\u2069.pdf", "ab.pdf"),
        ("合同.pdf", "合同.pdf"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("/etc/passwd", "passwd"),
        ("  report.pdf. ", "report.pdf"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),
        ("lone \ud800 surrogate.txt", "lone  surrogate.txt"),
        ("📄 Hợp đồng.pdf", "📄 Hợp đồng.pdf"),
        ("", "file"),
        ("\x00\u202e", "file"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_adds_the_extension_of_the_type():
    assert safe_filename("", PDF) == "file.pdf"
    assert safe_filename("CON", TEXT) == "CON.txt"
    assert safe_filename("photo.JPEG", JPEG) == "photo.JPEG"
    assert safe_filename("report.pdf", "application/octet-stream") == "report.pdf"


def test_long_names_are_cut_keeping_the_extension():
    name = safe_filename("合" * 300 + ".pdf")
    assert len(name) == 255 and name.endswith("合.pdf")
    assert len(safe_filename("a." + "b" * 300)) == 255


@given(st.text())
@settings(max_examples=300)
def test_any_name_becomes_a_usable_header_value(name):
    cleaned = safe_filename(name, PDF)
    assert 0 < len(cleaned) <= 255
    assert cleaned.lower().endswith(".pdf")
    assert not any(c in cleaned for c in "/\\\x00\r\n\u202e")
    quote(cleaned)  # encodable as UTF-8, as Werkzeug must do for filename*


@given(st.binary(max_size=2000))
@settings(max_examples=300)
def test_any_content_is_checked_or_refused(data):
    for prefix in (b"", b"PK\x03\x04"):
        try:
            check_upload("x.docx", prefix + data)
        except UploadError:
            pass


# --- requests and responses ------------------------------------------------------------


def test_download_is_an_attachment_with_a_utf8_name(app):
    with app.test_request_context():
        response = download_response("合同.pdf", PDF, PDF_BYTES)
        response.direct_passthrough = False
        assert response.get_data() == PDF_BYTES
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E5%90%88%E5%90%8C.pdf" in disposition
    assert "filename=.pdf" in disposition  # Werkzeug's ASCII fallback
    assert response.mimetype == PDF
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_download_name_is_cleaned_and_typed(app):
    with app.test_request_context():
        response = download_response("..\\\u202egpj.html", TEXT, b"<script>alert(1)</script>")
    assert response.headers["Content-Disposition"] == "attachment; filename=gpj.html.txt"
    assert response.mimetype == TEXT


def test_uploads_from_request_skips_empty_inputs_and_reads_one_byte_over(app):
    too_big = b"%PDF-" + bytes(MAX_FILE_BYTES)
    data = {
        "attachments": [
            (io.BytesIO(PDF_BYTES), "合同.pdf"),
            (io.BytesIO(b""), ""),
            (io.BytesIO(too_big), "big.pdf"),
        ],
        "other": [(io.BytesIO(b"not mine"), "other.txt")],
    }
    context = app.test_request_context(method="POST", data=data, content_type="multipart/form-data")
    with context:
        uploads = uploads_from_request()
    context.request.environ["wsgi.input"].close()  # the test body, spooled to a temporary file
    assert [name for name, _ in uploads] == ["合同.pdf", "big.pdf"]
    assert uploads[0][1] == PDF_BYTES
    assert len(uploads[1][1]) == MAX_FILE_BYTES + 1
    with pytest.raises(UploadError) as error:
        check_uploads(uploads)
    assert error.value.code == "too_large"
