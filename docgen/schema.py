"""Input validation: the field types and records shared by every kind of document.

Each kind declares its input as a pydantic model built from these pieces. Every
string that reaches a document passes through ``clean_text``: text XML cannot hold is
dropped and the rest is NFC-normalised, so layout code never sees hostile input.
Problems are reported as ``(path, message)`` pairs such as
``("lines.0.unit_price", "not a decimal amount")``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic
from babel.numbers import is_currency
from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from docgen.formatting import WORDS_LIMIT
from docgen.i18n import ENGLISH_SPELLINGS, LANGUAGES, N_, SOURCE_LANGUAGE, Localized, _l
from docgen.vocabulary import JOB_TITLES, UNITS, Vocabulary


# XML 1.0 allows tab, LF, CR and everything from U+0020 except surrogates and
# U+FFFE/U+FFFF; python-docx raises on anything else.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")

# The key of a text given once for every language.
PLAIN = ""
# After a source text shown where a language has none: its language, in the reader's.
SOURCE_MARKERS = {
    "en": N_("%(text)s (English original)"),
    "zh": N_("%(text)s (Chinese original)"),
    "vi": N_("%(text)s (Vietnamese original)"),
}
UNTRANSLATED = ("refuse", "show_source")

_MESSAGES = {
    "missing": "required",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "literal_error": "must be one of: {expected}",
    "too_short": "must not be empty",
}


class ValidationError(ValueError):
    """The input of a document is not valid; ``errors`` lists every problem.

    ``str(error)`` is one line per problem: ``path: message``.
    """

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("\n".join(f"{path}: {message}" for path, message in errors))


def clean_text(text: str) -> str:
    """Drop characters XML cannot hold, turn CR and CRLF line ends into LF, apply NFC."""
    text = _NOT_XML.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text)


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


class Text:
    """Text for every language: one string for all of them, or one string per language.

    A language without its own text falls back to English, then to any given one.
    ``Text`` is ``Localized``: call it with a ``Lang``. Names, addresses, units and
    quotes are ``Text``: shown as given wherever a language has none of its own.
    """

    __slots__ = ("_by_language",)

    def __init__(self, by_language: Mapping[str, str]) -> None:
        self._by_language = dict(by_language)

    @property
    def texts(self) -> dict[str, str]:
        """The texts as given, by language (``""``: the same text in every language)."""
        return dict(self._by_language)

    def get(self, lang: str) -> str:
        texts = self._by_language
        return texts.get(lang) or texts.get(SOURCE_LANGUAGE) or next(iter(texts.values()))

    def __call__(self, lang: Any) -> str:
        return self.get(lang.code)

    @property
    def per_language(self) -> bool:
        """Given as one text per language (``{"en": ..., "zh": ...}``), not one for all."""
        return PLAIN not in self._by_language

    def has(self, lang: str) -> bool:
        """Whether ``lang`` has a text of its own; one text given for all languages is every language's."""
        return not self.per_language or lang in self._by_language

    @property
    def source_language(self) -> str:
        """The language shown where one has no text of its own: English, else the first given."""
        return SOURCE_LANGUAGE if SOURCE_LANGUAGE in self._by_language else next(iter(self._by_language))

    def items(self) -> list[tuple[str, str]]:
        """``(language, text)`` pairs as given; the language is ``""`` for one text for all."""
        return list(self._by_language.items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._by_language!r})"


class Prose(Text):
    """Free text written for the reader (a title, a description, a clause): a document
    shows it in each of its languages only as written in that language.

    A missing language is refused before rendering (``untranslated``) unless the input
    says ``"untranslated": "show_source"``; then the source text is shown there, marked
    as such: ``Add payroll（英文原文）``.
    """

    __slots__ = ()

    def __call__(self, lang: Any) -> str:
        if self.has(lang.code):
            return self.get(lang.code)
        source = self.source_language
        return lang.gettext(SOURCE_MARKERS[source]) % {"text": self.get(source)}


def _required_string(value: object) -> str:
    if value is None:
        raise _error("missing", "required")
    if not isinstance(value, str):
        raise _error("string_type", "must be text")
    text = clean_text(value).strip()
    if not text:
        raise _error("missing", "required")
    return text


def _text(value: object, kind: type[Text] = Text) -> Text:
    if not isinstance(value, dict):
        return kind({PLAIN: _required_string(value)})
    texts = {}
    for lang, text in value.items():
        if lang not in LANGUAGES:
            raise _error("language", f"unknown language {clean_text(str(lang))!r} (use {', '.join(LANGUAGES)})")
        texts[lang] = _required_string(text)
    if not texts:
        raise _error("missing", "required")
    return kind(texts)


def _prose(value: object) -> Prose:
    return _text(value, Prose)


def in_vocabulary(vocabulary: Vocabulary) -> PlainValidator:
    """Free text that, when it is one of ``vocabulary``'s words in any language,
    comes out in every language of the document (a unit, a job title); a language
    given its own text keeps it."""

    def validate(value: object) -> Text:
        text = _text(value)
        known: dict[str, str] = {}
        for given in text.texts.values():
            found = vocabulary.text(given)
            if isinstance(found, dict):
                known = found
                break
        return Text({**known, **text.texts}) if known else text

    return PlainValidator(validate)


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _error("decimal", "not a decimal amount")
    text = str(value).strip()
    if not _DECIMAL.fullmatch(text):
        raise _error("decimal", "not a decimal amount")
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise _error("decimal", "not a decimal amount") from None
    if abs(number) >= WORDS_LIMIT:
        raise _error("decimal", "too large")
    return number


def _date(value: object) -> date:
    try:
        if isinstance(value, str) and _DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise _error("date", "not a valid date (YYYY-MM-DD)")


def _datetime(value: object) -> datetime:
    try:
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            # A time without an offset is UTC, as the input contract says.
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except ValueError:
        pass
    raise _error("datetime", "not a valid date and time (ISO 8601, e.g. 2026-11-20T08:15:00Z)")


def _currency(value: object) -> str:
    if isinstance(value, str) and value.isascii() and is_currency(value.upper()):
        return value.upper()
    if value is None or value == "":
        raise _error("missing", "required")
    raise _error("currency", "not an ISO 4217 currency code")


def _zone(value: object) -> ZoneInfo:
    try:
        if isinstance(value, str) and value.isascii():
            return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    raise _error("zone", "not an IANA time zone (e.g. Asia/Shanghai)")


def _sha256(value: object) -> str:
    if isinstance(value, str) and _SHA256.fullmatch(value):
        return value.lower()
    raise _error("hash", "not a 64-digit hexadecimal version hash")


def _languages(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or len(value) not in (1, 2):
        raise _error("languages", f"one language or two, from {', '.join(LANGUAGES)}")
    for code in value:
        if code not in LANGUAGES:
            raise _error("languages", f"unknown language {clean_text(str(code))!r} (use {', '.join(LANGUAGES)})")
    if len(set(value)) != len(value):
        raise _error("languages", "two different languages")
    return tuple(value)


def _figure(value: object) -> Localized:
    try:
        number = _decimal(value)
    except PydanticCustomError:
        return _text(value)
    return lambda lang: lang.number(number)


def code_or_text(labels: Mapping[str, str]) -> PlainValidator:
    """Validate one of the codes of ``labels`` (shown translated) or free text."""

    def validate(value: object) -> Localized:
        if isinstance(value, str) and value in labels:
            return _l(labels[value])
        return _text(value)

    return PlainValidator(validate)


def _total_fits(items: list[Any]) -> list[Any]:
    if abs(sum((item.amount for item in items), Decimal(0))) >= WORDS_LIMIT:
        raise _error("total", "total too large")
    return items


def _spelling(value: object) -> str:
    if isinstance(value, str) and value.upper() in ENGLISH_SPELLINGS:
        return value.upper()
    raise _error("spelling", f"one of {', '.join(ENGLISH_SPELLINGS)}")


def _language(value: object) -> str:
    if isinstance(value, str) and value in LANGUAGES:
        return value
    raise _error("language", f"one of {', '.join(LANGUAGES)}")


Code = Annotated[str, PlainValidator(_required_string)]
"""A required one-line string: a number, a name, a title in one language."""
LocalText = Annotated[Text, PlainValidator(_text)]
"""A name, an address, a unit, a quote: shown as given where a language has no text."""
FreeText = Annotated[Prose, PlainValidator(_prose)]
"""Prose for the reader, in each language of the document (see ``Prose``)."""
Amount = Annotated[Decimal, PlainValidator(_decimal)]
Day = Annotated[date, PlainValidator(_date)]
Moment = Annotated[datetime, PlainValidator(_datetime)]
Currency = Annotated[str, PlainValidator(_currency)]
TimeZone = Annotated[ZoneInfo, PlainValidator(_zone)]
VersionHash = Annotated[str, PlainValidator(_sha256)]
Languages = Annotated[tuple[str, ...], PlainValidator(_languages)]
Language = Annotated[str, PlainValidator(_language)]
Spelling = Annotated[str, PlainValidator(_spelling)]
"""English spelling: ``US`` (authorized) or ``GB`` (authorised)."""
UnitText = Annotated[Text, in_vocabulary(UNITS)]
"""A unit of measure: a known one (``payslip``, ``month``, ``tháng``) in every language."""
JobTitle = Annotated[Text, in_vocabulary(JOB_TITLES)]
"""A job title: a common one (``General Director``, ``财务总监``) in every language."""
Figure = Annotated[Localized, PlainValidator(_figure)]
"""A number, written in each locale's format, or free text such as ``95%``."""
Priced = TypeVar("Priced")
Items = Annotated[list[Priced], AfterValidator(_total_fits)]
"""Priced items (``.amount``) whose total can still be written in words."""


class Record(BaseModel):
    """A part of the input; fields the document does not use are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True)


class Party(Record):
    name: LocalText
    address: LocalText | None = None
    representative: LocalText | None = None
    title: JobTitle | None = None
    timezone: TimeZone | None = None


class Contract(Record):
    number: Code
    title: FreeText
    signed_on: Day | None = None
    currency: Currency


class Line(Record):
    """A priced line: quantity x unit price."""

    description: FreeText
    quantity: Amount
    unit: UnitText
    unit_price: Amount

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


class DocumentInput(Record):
    """What every document has. Kinds subclass it with their own fields."""

    kind: str
    languages: Languages
    number: Code
    date: Day
    provider: Party
    client: Party
    timezone: TimeZone | None = None
    # Where the document is made: the Vietnamese place and date line names it.
    place: LocalText | None = None
    # English spelling (None: American) and, in a bilingual document, the language
    # that prevails (None: the first).
    english: Spelling | None = None
    prevailing_language: Language | None = None

    @field_validator("prevailing_language")
    @classmethod
    def _prevails_in_the_document(cls, language: str | None, info: ValidationInfo) -> str | None:
        """The prevailing language of a bilingual document is one of its two (a
        monolingual rendering of the same input states none)."""
        languages = info.data.get("languages") or ()
        if language is not None and len(languages) == 2 and language not in languages:
            raise _error("prevailing_language", f"not one of the document's languages ({', '.join(languages)})")
        return language

    @property
    def prevailing(self) -> str:
        return self.prevailing_language if self.prevailing_language in self.languages else self.languages[0]
    untranslated: Literal["refuse", "show_source"] = "refuse"

    @property
    def currency(self) -> str | None:
        return None

    @property
    def zone(self) -> ZoneInfo:
        """The time zone times are shown in: the client's, else the document's, else UTC."""
        return self.client.timezone or self.timezone or ZoneInfo("UTC")


class ContractDocument(DocumentInput):
    """A document made under a contract, in the contract's currency."""

    contract: Contract

    @property
    def currency(self) -> str:
        return self.contract.currency


def parse(model: type[DocumentInput], data: Mapping[str, Any]) -> DocumentInput:
    """Validate ``data`` against ``model``; raise ``ValidationError`` with every problem."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ValidationError([_problem(error) for error in exc.errors()]) from None


class UntranslatedError(ValidationError):
    """Free text has no text in a language of the document (``Prose``), and the input
    does not say to show the source text there. ``missing`` lists ``(path, language)``:
    ``("change_request.title", "zh")``; ``errors`` names ``change_request.title.zh``."""

    def __init__(self, missing: list[tuple[str, str]]) -> None:
        self.missing = missing
        super().__init__([
            (f"{path}.{lang}", f"no {lang} text (translate it, or set untranslated to show_source)")
            for path, lang in missing
        ])


def untranslated(document: DocumentInput) -> list[tuple[str, str]]:
    """Every ``(path, language)`` of the document's languages that a ``Prose`` text lacks.

    One string given for every language is every language's text (a name, a code, a
    text the issuer wrote once for all): only texts given per language can lack one.
    """
    return [
        (path, lang)
        for path, text in texts(document)
        if isinstance(text, Prose)
        for lang in document.languages
        if not text.has(lang)
    ]


def check_translations(document: DocumentInput) -> None:
    """Refuse a document whose free text lacks one of its languages, unless it shows the source there."""
    if document.untranslated == "refuse" and (missing := untranslated(document)):
        raise UntranslatedError(missing)


def texts(value: object, path: str = "") -> Iterator[tuple[str, Text | str]]:
    """Every text of a validated input with its path as the input spells it:
    ``("lines.2.description", Prose(...))``, ``("number", "AMD-2026-0003")``."""
    if isinstance(value, Text | str):
        yield path, value
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from texts(getattr(value, name), _join(path, field.alias or name))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from texts(item, _join(path, str(index)))


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def check_languages(value: object) -> list[tuple[str, str]]:
    """Problems with a ``languages`` value alone (when the kind itself is unknown)."""
    try:
        _languages(value)
    except PydanticCustomError as exc:
        return [("languages", "required" if value is None else exc.message())]
    return []


def _problem(error: Mapping[str, Any]) -> tuple[str, str]:
    path = ".".join(str(part) for part in error["loc"]) or "input"
    template = _MESSAGES.get(error["type"])
    if template is None:
        return path, error["msg"]
    return path, template.format(**error.get("ctx", {}))
