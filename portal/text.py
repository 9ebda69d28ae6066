"""Text as people typed or pasted it, made what it reads as."""

from __future__ import annotations

import unicodedata


def visible(text: str) -> str:
    """``text`` without invisible format characters (word joiners, zero-width spaces,
    soft hyphens, byte-order marks: Unicode's category Cf). A number copied out of a
    document or a web page brings them along; the portal's own documents keep numbers
    whole with word joiners (``docgen.typesetting``). Pasted into a filter, a form or an
    import file, it is the number as stored."""
    if text.isascii():
        return text
    return "".join(char for char in text if unicodedata.category(char) != "Cf")
