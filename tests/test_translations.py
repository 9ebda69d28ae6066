"""Every string the code marks for translation is translated into zh and vi."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None,
            "pgettext": ((1, "c"), 2), "_lp": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def _code_messages() -> set[tuple[str, str | None]]:
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    ids = set()
    for _file, _line, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        ids.add((message if isinstance(message, str) else message[0], context))
    return ids


CODE_MESSAGES = _code_messages()


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_every_marked_string_is_translated(language):
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    missing, untranslated, broken = [], [], []
    for msgid, context in sorted(CODE_MESSAGES, key=lambda m: (m[0], m[1] or "")):
        message = catalog.get(msgid, context=context)
        if message is None:
            missing.append(msgid)
            continue
        translation = message.string if isinstance(message.string, str) else (message.string or [""])[0]
        if not translation or message.fuzzy:
            untranslated.append(msgid)
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(translation)):
            broken.append(msgid)
    assert not missing, f"{language}: not in the catalog (run make translations-update): {missing[:20]}"
    assert not untranslated, f"{language}: untranslated or fuzzy: {untranslated[:20]}"
    assert not broken, f"{language}: placeholders differ from the English: {broken[:20]}"


def test_code_marks_some_strings():
    assert len(CODE_MESSAGES) > 50
