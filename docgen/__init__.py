"""docgen: contract documents in English, Chinese and Vietnamese, as .docx.

A library with no dependency on Flask or the database: the portal, a background
worker and the command line (``python -m docgen``) call the same ``render``::

    from docgen import render, ValidationError
    docx_bytes = render(data)                       # data["languages"], e.g. ["en", "zh"]
    docx_bytes = render(data, languages=["vi"])     # or an override
"""

from docgen.kinds import KINDS as _KINDS
from docgen.preflight import FontNotFound, GlyphError
from docgen.render import render, validate
from docgen.schema import LANGUAGES, UntranslatedError, ValidationError

KINDS: tuple[str, ...] = tuple(_KINDS)

__all__ = ["KINDS", "LANGUAGES", "FontNotFound", "GlyphError", "UntranslatedError", "ValidationError", "render",
           "validate"]
