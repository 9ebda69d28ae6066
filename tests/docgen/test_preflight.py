"""Safe to send: no character prints as an empty box, and no free text silently falls
back to another language."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

import docgen
from docgen import preflight

from .conftest import docgen as run_docgen
from .reading import AS_READ, full_text, open_docx

EMOJI = "\N{GRINNING FACE}"
EXTENSION_B = "\U00020000"  # 𠀀, CJK Unified Ideographs Extension B: in no Noto CJK font
POLISH = "Łukasz Wójcik"  # Ł is in Noto Serif, not in Noto Serif CJK SC


def _glyph_problems(data: dict, languages: list[str] | None = None) -> list[tuple[str, str, str]]:
    with pytest.raises(docgen.GlyphError) as refusal:
        docgen.render(data, languages)
    return [(item.path, item.char, item.codepoint) for item in refusal.value.uncovered]


def test_an_emoji_in_a_line_description_is_refused_naming_the_field_and_the_character(amendment):
    amendment["lines"][1]["description"]["zh"] = f"人工费用审计 {EMOJI}"
    assert _glyph_problems(amendment) == [("lines.1.description.zh", EMOJI, "U+1F600")]


def test_a_cjk_extension_b_character_is_refused_against_the_chinese_font(amendment):
    amendment["change_request"]["title"]["zh"] = f"新增{EXTENSION_B}薪资服务"
    with pytest.raises(docgen.GlyphError) as refusal:
        docgen.render(amendment, ["zh"])
    assert str(refusal.value) == (
        f"change_request.title.zh: {EXTENSION_B} (U+20000) is in no font the document uses (Noto Serif CJK SC): "
        "replace it"
    )


def test_a_character_only_in_a_language_the_document_does_not_show_is_not_refused(amendment):
    amendment["lines"][1]["description"]["vi"] = f"Kiểm tra {EMOJI}"
    assert docgen.render(amendment, ["en", "zh"])
    assert _glyph_problems(amendment, ["en", "vi"]) == [("lines.1.description.vi", EMOJI, "U+1F600")]


def test_private_use_characters_are_refused_and_every_field_holding_one_is_named(work_order):
    work_order["title"] = {"en": "Payroll \ue000"}
    work_order["acceptance_criteria"] = ["All payslips \ue000 delivered"]
    assert _glyph_problems(work_order, ["en"]) == [
        ("title.en", "\ue000", "U+E000"), ("acceptance_criteria.0", "\ue000", "U+E000")]


def test_whitespace_and_invisible_layout_characters_are_not_refused(amendment):
    # no-break and narrow no-break spaces, word joiner, soft hyphen, zero-width joiner,
    # an emoji-presentation selector: nothing is drawn for them
    amendment["change_request"]["title"]["zh"] = "新增\u00a0越南\u202f实体\u2060薪资\u00ad服务\u200d\ufe0f"
    text = full_text(open_docx(docgen.render(amendment, ["zh"])))
    assert "新增 越南" in text  # read as a reader reads it: the no-break space is a space


def test_a_latin_letter_in_a_chinese_document_is_checked_against_the_latin_font(amendment):
    """Ł is not in Noto Serif CJK SC; in a Chinese run Word and LibreOffice write it with
    the run's Latin font, which has it."""
    amendment["client"]["representative"] = POLISH
    assert POLISH in full_text(open_docx(docgen.render(amendment, ["zh"])))

    cjk_for_latin = _with_fonts(docgen.render(amendment, ["zh"]), latin="Noto Serif CJK SC")
    assert ("Ł", "Noto Serif CJK SC") in preflight.uncovered(cjk_for_latin)


def test_a_chinese_character_is_checked_against_the_east_asian_font_not_the_latin_one(amendment):
    """With a Latin-only font as the East Asian font, Chinese text has no glyphs; the
    Latin text of the same document still has its own."""
    docx = docgen.render(amendment, ["zh"])
    assert preflight.uncovered(docx) == []
    latin_only = preflight.uncovered(_with_fonts(docx, east_asian="Noto Serif"))
    refused = {char for char, _font in latin_only}
    assert {"甲", "方", "薪"} <= refused
    assert {font for _char, font in latin_only} == {"Noto Serif"}
    assert not refused & set("CR-0042 AMD-2026-0003")


def test_a_font_missing_from_the_machine_is_an_installation_error_not_a_refusal(amendment, monkeypatch):
    monkeypatch.setattr(preflight, "font_file", _no_such_font)
    preflight.character_map.cache_clear()
    try:
        with pytest.raises(docgen.FontNotFound, match="Noto"):
            docgen.render(amendment, ["en"])
    finally:
        preflight.character_map.cache_clear()


def _no_such_font(font: str) -> tuple[str, int]:
    raise preflight.FontNotFound(f"the font {font!r} is not installed")


def test_fonts_are_found_without_fontconfig_in_the_system_font_folders(monkeypatch):
    monkeypatch.setattr(preflight.shutil, "which", lambda name: None)
    path, index = preflight.font_file.__wrapped__("Noto Serif CJK SC")
    assert path.endswith(".ttc") and ord("中") in _cmap(path, index)


def _cmap(path: str, index: int) -> set[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as font:
        return set(font.getBestCmap())


def _with_fonts(docx: bytes, latin: str | None = None, east_asian: str | None = None) -> bytes:
    """The document with every font name of its styles replaced: the Latin ones by
    ``latin``, the East Asian ones by ``east_asian``."""
    source = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/styles.xml":
                text = data.decode()
                if latin:
                    text = re.sub(r'w:(ascii|hAnsi)="[^"]*"', rf'w:\1="{latin}"', text)
                if east_asian:
                    text = re.sub(r'w:eastAsia="(?!zh-CN)[^"]*"', f'w:eastAsia="{east_asian}"', text)
                data = text.encode()
            target.writestr(item, data)
    return out.getvalue()


# -- the translation gate --------------------------------------------------------------


def test_a_chinese_amendment_whose_title_has_only_english_is_refused_naming_the_field(amendment):
    amendment["change_request"]["title"] = {"en": "Add payroll for Vietnam entity"}
    with pytest.raises(docgen.UntranslatedError) as refusal:
        docgen.render(amendment, ["zh"])
    assert refusal.value.missing == [("change_request.title", "zh")]
    assert docgen.validate(amendment, ["zh"]) == [
        ("change_request.title.zh", "no zh text (translate it, or set untranslated to show_source)")]
    assert docgen.validate(amendment, ["en"]) == []


def test_every_free_text_missing_a_language_is_listed(example):
    plan = example("plan")
    plan["objectives"][0] = {"en": plan["objectives"][0]["en"]}
    plan["risks"][0]["mitigation"] = {"zh": "每周对账"}
    paths = [path for path, _message in docgen.validate(plan, ["en", "zh"])]
    assert paths == ["objectives.0.zh", "risks.0.mitigation.en"]


def test_names_units_quotes_and_one_text_for_every_language_are_not_gated(example):
    plan = example("plan")
    plan["client"]["name"] = {"en": "Huanan Precision"}  # a name: the same in every language
    plan["kpis"][0]["unit"] = {"en": "payslips"}
    plan["reviews"][0]["body"] = {"en": "Looks good."}  # what the reviewer wrote, as written
    plan["objectives"][0] = "SAP S/4HANA go-live"  # written once for every language
    assert docgen.validate(plan, ["zh"]) == []


def test_show_source_writes_the_source_text_marked_in_the_language_that_lacks_it(amendment):
    amendment["change_request"]["title"] = {"en": "Add payroll for Vietnam entity"}
    amendment["untranslated"] = "show_source"
    document = open_docx(docgen.render(amendment, ["en", "zh"]))
    left, right = _cells_with(document, "CR-0042")
    assert left.endswith("CR-0042: Add payroll for Vietnam entity")
    assert right.endswith("CR-0042：Add payroll for Vietnam entity（英文原文）")

    vietnamese = full_text(open_docx(docgen.render(amendment, ["vi"])))
    assert "Add payroll for Vietnam entity (nguyên văn tiếng Anh)" in vietnamese


def test_show_source_marks_a_chinese_source_in_english(amendment):
    amendment["lines"][0]["description"] = {"zh": "越南薪资处理"}
    amendment["untranslated"] = "show_source"
    assert "越南薪资处理 (Chinese original)" in full_text(open_docx(docgen.render(amendment, ["en"])))


def test_untranslated_takes_refuse_or_show_source(amendment):
    amendment["untranslated"] = "ignore"
    assert docgen.validate(amendment) == [("untranslated", "must be one of: 'refuse' or 'show_source'")]


def _cells_with(document, needle: str) -> tuple[str, str]:
    for table in document.tables:
        for row in table.rows:
            texts = [cell.text.translate(AS_READ) for cell in row.cells]
            if len(texts) == 2 and all(needle in text for text in texts):
                return texts[0], texts[1]
    raise AssertionError(f"no side-by-side row with {needle}")


# -- the command line ---------------------------------------------------------------------


def test_the_command_line_refuses_an_uncovered_character_with_exit_2_and_writes_nothing(tmp_path, amendment):
    amendment["lines"][0]["description"]["zh"] = f"越南薪资处理{EMOJI}"
    source = tmp_path / "in.json"
    source.write_text(json.dumps(amendment, ensure_ascii=False), encoding="utf-8")
    result = run_docgen("render", str(source), "-o", str(tmp_path / "out.docx"))
    assert result.returncode == 2
    assert f"lines.0.description.zh: {EMOJI} (U+1F600) is in no font" in result.stderr
    assert not (tmp_path / "out.docx").exists()


def test_the_command_line_refuses_a_missing_translation_with_exit_2(tmp_path, amendment):
    amendment["change_request"]["title"] = {"en": "Add payroll for Vietnam entity"}
    source = tmp_path / "in.json"
    source.write_text(json.dumps(amendment), encoding="utf-8")
    result = run_docgen("render", str(source), "-o", str(tmp_path / "out.docx"), "--lang", "zh")
    assert result.returncode == 2
    assert result.stderr.startswith("change_request.title.zh: no zh text")
    assert not (tmp_path / "out.docx").exists()
