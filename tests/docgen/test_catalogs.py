"""docgen's labels and clauses in the shared gettext catalogs."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import docgen
from docgen import i18n

DOCGEN_DIR = Path(docgen.__file__).parent
KEYWORDS = {"_l": None, "N_": None, "gettext": None, "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def docgen_messages() -> set[tuple[str | None, str]]:
    return {
        (context, message)
        for _, _, message, _, context in extract_from_dir(
            str(DOCGEN_DIR), method_map=[("**.py", "python")], keywords=KEYWORDS
        )
    }


def po_catalog(lang: str):
    with (i18n.CATALOG_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def test_extraction_finds_docgen_labels():
    messages = docgen_messages()
    assert (None, "Total (in words)") in messages
    assert (None, "Page %(page)s of %(pages)s") in messages
    assert ("contract party", "Party A (Client)") in messages
    assert ("job title", "General Director") in messages
    assert len(messages) > 80


@pytest.mark.parametrize("lang", ["zh", "vi"])
def test_every_docgen_message_is_translated_with_its_placeholders(lang):
    entries = po_catalog(lang)
    for context, message in sorted(docgen_messages(), key=str):
        entry = entries.get(message, context=context)
        assert entry is not None, f"{message!r} is not in the {lang} catalog (run pybabel extract/update)"
        assert entry.string and not entry.fuzzy, f"{message!r} has no {lang} translation"
        assert set(PLACEHOLDER.findall(entry.string)) == set(PLACEHOLDER.findall(message)), message


@pytest.mark.parametrize(
    ("lang", "message", "expected"),
    [
        ("zh", "Contract amendment", "合同补充协议"),
        ("vi", "Contract amendment", "Phụ lục sửa đổi, bổ sung hợp đồng"),
        ("zh", "Work order", "工作订单"),
        ("vi", "Work order", "Đơn đặt hàng công việc"),
        ("zh", "Effective date", "生效日期"),
        ("vi", "Unit price", "Đơn giá"),
        ("zh", "Total (in words)", "合计（大写）"),
        ("vi", "Total (in words)", "Tổng cộng (bằng chữ)"),
        ("vi", "Signature", "Chữ ký"),
        ("zh", "Page %(page)s of %(pages)s", "第 %(page)s 页，共 %(pages)s 页"),
        ("vi", "Page %(page)s of %(pages)s", "Trang %(page)s / %(pages)s"),
        ("vi", "Sign off", "Ký xác nhận"),
    ],
)
def test_labels_follow_the_glossary(lang, message, expected):
    assert i18n.translations(lang).gettext(message) == expected


def test_party_roles_depend_on_the_kind_of_document():
    zh, vi = i18n.Lang("zh"), i18n.Lang("vi")
    assert (zh.pgettext("contract party", "Party A (Client)"), zh.pgettext("contract party", "Party B (Provider)")) == (
        "甲方", "乙方")
    assert (vi.pgettext("contract party", "Party A (Client)"), vi.pgettext("contract party", "Party B (Provider)")) == (
        "Bên A (Khách hàng)", "Bên B (Nhà cung cấp dịch vụ)")
    assert (zh.pgettext("plan party", "Client"), vi.pgettext("plan party", "Client")) == ("客户", "Khách hàng")


def test_a_stale_or_missing_mo_is_replaced_by_the_po(tmp_path, monkeypatch):
    """A fresh checkout has no .mo; a .mo older than its .po is not trusted."""
    messages = tmp_path / "zh" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    (messages / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Quantity"\nmsgstr "数量"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "CATALOG_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        assert i18n.translations("zh").gettext("Quantity") == "数量"
        stale = messages / "messages.mo"
        stale.write_bytes(b"not a catalog")
        past = time.time() - 3600
        os.utime(stale, (past, past))
        i18n.translations.cache_clear()
        assert i18n.translations("zh").gettext("Quantity") == "数量"
    finally:
        i18n.translations.cache_clear()
