"""The house-style base document is the output of its script, and small."""

from __future__ import annotations

import io
import zipfile

from docgen.layout import BASE_DOCUMENT, Styles
from docgen.tools import make_base

from .reading import open_docx


def entries(package: bytes) -> dict[str, bytes]:
    # Compare contents, not zip bytes: another zlib may compress differently.
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_committed_base_matches_its_script():
    assert entries(make_base.build()) == entries(BASE_DOCUMENT.read_bytes()), "run python -m docgen.tools.make_base"


def test_base_is_small_a4_and_has_the_layout_styles():
    data = BASE_DOCUMENT.read_bytes()
    assert len(data) < 20_000
    document = open_docx(data)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    names = {style.name for style in document.styles}
    expected = {value for key, value in vars(Styles).items() if key.isupper()}
    assert expected <= names, expected - names
