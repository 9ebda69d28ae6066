"""The per-language fields of ``portal.forms``: one field per language of the language
list, labelled in the user's language, English required where asked, the length limited;
read back as ``{lang: text}`` without the blank ones, and filled from a stored text."""

from __future__ import annotations

from flask_babel import force_locale
from werkzeug.datastructures import MultiDict
from wtforms import Form, TextAreaField

from portal.forms import LANGUAGES, fill_texts, texts, with_texts
from portal.i18n import LANGUAGE_NAMES


@with_texts("description", TextAreaField, max_length=20)
@with_texts("title", max_length=10, required=True)
class TextsForm(Form):
    pass


def test_a_field_per_language_of_the_language_list():
    form = TextsForm()
    assert LANGUAGES == tuple(LANGUAGE_NAMES) == ("en", "zh", "vi")
    assert list(form._fields) == [f"{name}_{lang}" for name in ("title", "description") for lang in LANGUAGES]
    assert {form[f"description_{lang}"].type for lang in LANGUAGES} == {"TextAreaField"}


def test_each_field_is_labelled_with_its_language_in_the_users_language(app):
    with app.test_request_context():
        with force_locale("zh"):
            assert [TextsForm()[f"title_{lang}"].label.text for lang in LANGUAGES] == ["标题（英文）", "标题（中文）", "标题（越南文）"]
        with force_locale("vi"):
            assert TextsForm().description_zh.label.text == "Mô tả (tiếng Trung)"
        assert TextsForm().title_vi.label.text == "Title (Vietnamese)"


def test_english_is_required_and_every_text_limited_in_length(app):
    with app.test_request_context():
        form = TextsForm(MultiDict({"title_zh": "标题", "title_vi": "x" * 11, "description_en": "y" * 21}))
        assert not form.validate()
        assert set(form.errors) == {"title_en", "title_vi", "description_en"}
        assert TextsForm(MultiDict({"title_en": "Payroll"})).validate()


def test_the_texts_read_back_trimmed_without_the_blank_languages():
    form = TextsForm(MultiDict({"title_en": "  Payroll ", "title_zh": "   ", "title_vi": "Lương"}))
    assert texts(form, "title") == {"en": "Payroll", "vi": "Lương"}
    assert texts(form, "description") == {}


def test_a_stored_text_fills_its_fields_and_reads_back_the_same():
    form = TextsForm()
    fill_texts(form, "title", {"en": "Payroll", "zh": "薪资核算"})
    assert [form[f"title_{lang}"].data for lang in LANGUAGES] == ["Payroll", "薪资核算", ""]
    assert texts(form, "title") == {"en": "Payroll", "zh": "薪资核算"}


def test_a_line_of_text_keeps_no_line_breaks_nor_tabs_and_a_text_area_keeps_them(app):
    """Tab, newline and carriage return belong to multi-line text: a title pasted with
    them (a table's cell, two lines of a document) is one line, as it reads."""
    from wtforms import StringField

    from portal.forms import PortalForm

    class Titled(PortalForm):
        class Meta:
            csrf = False

        title = StringField()
        notes = TextAreaField()

    with app.test_request_context():
        form = Titled(MultiDict({"title": "Payroll\r\nVietnam\tQ3\u2060", "notes": "First line\r\nSecond\tline"}))
    assert form.title.data == "Payroll Vietnam Q3"
    assert form.notes.data == "First line\r\nSecond\tline"
