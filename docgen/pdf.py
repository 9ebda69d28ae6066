"""Convert .docx to PDF with LibreOffice headless.

Conversion takes a LibreOffice process (~0.2 s per document in a batch, ~1 s to
start), so it belongs off the request path: a background job, caching the PDF by the
document's SHA-256. LibreOffice PDFs are never byte-identical (creation date, /ID).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path


class PdfError(RuntimeError):
    """LibreOffice is missing or failed to convert a document."""


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(documents: Sequence[bytes], *, timeout: float = 300) -> list[bytes]:
    """Convert .docx documents to PDF in one LibreOffice process; same order out.

    Each call uses its own LibreOffice profile in a temporary directory: concurrent
    conversions sharing a profile can fail.
    """
    soffice = soffice_path()
    if soffice is None:
        raise PdfError("LibreOffice (soffice) is not on PATH: install libreoffice-writer-nogui to convert to PDF")
    with tempfile.TemporaryDirectory(prefix="docgen-pdf-") as work:
        work_dir = Path(work)
        sources = []
        for index, document in enumerate(documents):
            source = work_dir / f"document-{index}.docx"
            source.write_bytes(document)
            sources.append(source)
        command = [
            soffice,
            f"-env:UserInstallation={(work_dir / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work_dir),
            *map(str, sources),
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"LibreOffice did not finish within {timeout:.0f} s") from None
        pdfs = [source.with_suffix(".pdf") for source in sources]
        if completed.returncode != 0 or not all(pdf.exists() for pdf in pdfs):
            detail = (completed.stderr or completed.stdout).strip()
            raise PdfError(f"LibreOffice failed to convert (exit {completed.returncode}): {detail}")
        return [pdf.read_bytes() for pdf in pdfs]
