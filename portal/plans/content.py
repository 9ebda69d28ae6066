"""What a business plan says, apart from its workflow: the sections and their texts,
validation, when each translation was written, the translation gate, carrying a plan
over into the next period and the per-field difference between two versions.

The content, as the demo data writes it::

    {"objectives": [Text],
     "kpis": [{"name": Text, "baseline": "4.6" | None, "target": "4.0", "unit": "days", "kpi": "MEC" | None}],
     "initiatives": [{"title": Text, "owner": "Lena Park", "due": "2027-03-31" | None, "status": "planned"}],
     "budget": [{"item": Text, "amount": "24000.00"}],
     "risks": [{"risk": Text, "mitigation": Text, "owner": "Lena Park" | ""}]}

``Text`` is ``{"en": "...", "zh": "...", "vi": "..."}``. English is the source; the
other languages are translations of it. A plan keeps beside its content when each
text was written, per language (``{"kpis.0.name": {"en": "2026-11-28T09:00:00+00:00",
"zh": ...}}``): a translation written before the current English text is *stale*.
Texts without a recorded time (the demo's) count as written together.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from docgen.i18n import LANGUAGES
from docgen.kinds import plan as document
from flask_babel import lazy_gettext as _l

from portal.domain import DomainError
from portal.models import PlanType

SOURCE = "en"
SECTIONS = ("objectives", "kpis", "initiatives", "budget", "risks")
# The texts of each section's rows; ``None``: the row is itself a text (an objective).
TEXT_FIELDS: dict[str, tuple[str | None, ...]] = {
    "objectives": (None,),
    "kpis": ("name",),
    "initiatives": ("title",),
    "budget": ("item",),
    "risks": ("risk", "mitigation"),
}
# The other fields of each section's rows, in the order a reader expects them.
OTHER_FIELDS: dict[str, tuple[str, ...]] = {
    "objectives": (),
    "kpis": ("baseline", "target", "unit", "kpi"),
    "initiatives": ("owner", "due", "status"),
    "budget": ("amount",),
    "risks": ("owner",),
}
STATUSES = tuple(document.STATUSES)  # the initiative statuses the plan document knows
CLOSED = ("done", "cancelled")
MAX_ROWS = 200
MAX_TEXT = 2000
WORDS_LIMIT = Decimal(10) ** 15  # docgen writes totals in words up to here
FIGURE_LIMIT = Decimal(10) ** 12  # a KPI's baseline or target
YEARS = range(2000, 2100)  # the periods a plan may cover

PERIODS = {
    PlanType.JBP: re.compile(r"FY(\d{4})"),
    PlanType.QBP: re.compile(r"(\d{4})-Q([1-4])"),
    PlanType.MBP: re.compile(r"(\d{4})-(0[1-9]|1[0-2])"),
}
PERIOD_EXAMPLES = {PlanType.JBP: "FY2027", PlanType.QBP: "2027-Q1", PlanType.MBP: "2027-03"}
# A quarterly plan starts from the yearly one, a monthly plan from the quarterly one.
PARENT_TYPE = {PlanType.QBP: PlanType.JBP, PlanType.MBP: PlanType.QBP}


# --- periods ---------------------------------------------------------------------------


def check_period(plan_type: PlanType, period: str) -> str:
    """``period`` in its type's form: FY2027 (yearly), 2027-Q1 (quarterly), 2027-03 (monthly)."""
    period = (period or "").strip().upper()
    match = PERIODS[plan_type].fullmatch(period)
    if not match or int(match[1]) not in YEARS:
        raise DomainError(_l("Write the period as %(example)s.", example=PERIOD_EXAMPLES[plan_type]),
                          fields={"period": f"expected the form {PERIOD_EXAMPLES[plan_type]}"})
    return period


def within(period: str, parent_period: str) -> bool:
    """Whether a quarter lies in a fiscal year (FY = calendar year) or a month in a quarter."""
    if parent_period.startswith("FY"):
        return period[:4] == parent_period[2:]
    year, quarter = parent_period.split("-Q")
    return period[:4] == year and (int(period[5:7]) - 1) // 3 + 1 == int(quarter)


def period_start(plan_type: PlanType, period: str) -> date:
    match = PERIODS[plan_type].fullmatch(period)
    year = int(match[1])
    if plan_type is PlanType.JBP:
        return date(year, 1, 1)
    if plan_type is PlanType.QBP:
        return date(year, 3 * int(match[2]) - 2, 1)
    return date(year, int(match[2]), 1)


# --- texts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRef:
    """One text of the plan: ``path`` is ``objectives.0`` or ``kpis.2.name``."""

    path: str
    section: str
    index: int
    field: str | None
    text: Mapping[str, str]


def texts(content: Mapping[str, Any]) -> Iterator[TextRef]:
    """Every text of the plan, section by section."""
    for section, fields in TEXT_FIELDS.items():
        for index, row in enumerate(content.get(section) or []):
            for field in fields:
                value = row if field is None else row.get(field)
                path = f"{section}.{index}" + ("" if field is None else f".{field}")
                yield TextRef(path, section, index, field, as_text(value))


def as_text(value: Any) -> dict[str, str]:
    """A text as ``{language: text}`` (a plain string is English)."""
    if not value:
        return {}
    if isinstance(value, str):
        return {SOURCE: value}
    return {lang: text for lang, text in value.items() if text}


def pick(text: Any, language: str) -> tuple[str, str | None]:
    """The text in ``language``, else English, else any: (text, the language used)."""
    text = as_text(text)
    for lang in (language, SOURCE, *text):
        if text.get(lang):
            return text[lang], lang
    return "", None


def summary(row: Any, section: str, language: str = SOURCE) -> str:
    """A row in a few words: its first text."""
    field = TEXT_FIELDS[section][0]
    return pick(row if field is None else row.get(field), language)[0]


# --- validation ------------------------------------------------------------------------


def _clean_string(value: Any, limit: int) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    return text[:limit]


def _clean_text(value: Any, problems: _Problems, path: str) -> dict[str, str]:
    """A text per language, trimmed; a text over ``MAX_TEXT`` is refused, not cut."""
    texts_ = {lang: _clean_string(text, MAX_TEXT + 1) for lang, text in as_text(value).items() if lang in LANGUAGES}
    if any(len(text) > MAX_TEXT for text in texts_.values()):
        problems.add(path, f"at most {MAX_TEXT} characters")
    return {lang: text[:MAX_TEXT] for lang, text in texts_.items() if text}


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _Problems:
    """Collects every bad field of the content, so the author sees them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, path: str, problem: str) -> None:
        self.fields.setdefault(path, problem)

    def raise_if_any(self) -> None:
        if self.fields:
            raise DomainError(_l("Some values of the plan are not valid: see the marked fields."),
                              fields=self.fields)


def clean(raw: Mapping[str, Any], currency: str, kpi_codes: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The content as stored: texts NFC and trimmed with English required, KPI figures
    and budget amounts decimal strings (amounts in the currency's decimals), dates ISO,
    statuses known, a contract KPI code one of ``kpi_codes``. ``DomainError`` (422)
    names every bad field by its path."""
    from docgen.formatting import quantize_money

    problems = _Problems()
    content: dict[str, Any] = {}
    for section in SECTIONS:
        rows = raw.get(section) or []
        if len(rows) > MAX_ROWS:
            problems.add(section, f"at most {MAX_ROWS} rows")
            rows = rows[:MAX_ROWS]
        content[section] = []
        for index, row in enumerate(rows):
            where = f"{section}.{index}"
            if section == "objectives":
                row = _clean_text(row, problems, where)
                if SOURCE not in row:
                    problems.add(where, "required")
                content[section].append(row)
                continue
            row = dict(row or {})
            out: dict[str, Any] = {}
            for field in TEXT_FIELDS[section]:
                out[field] = _clean_text(row.get(field), problems, f"{where}.{field}")
                if SOURCE not in out[field]:
                    problems.add(f"{where}.{field}", "required")
            if section == "kpis":
                for field in ("baseline", "target"):
                    text = _clean_string(row.get(field), 40)
                    number = _decimal(text) if text else None
                    if text and number is None:
                        problems.add(f"{where}.{field}", "not a number")
                    elif number is not None and abs(number) >= FIGURE_LIMIT:
                        problems.add(f"{where}.{field}", "out of range")
                    out[field] = text or None
                if out["target"] is None:
                    problems.add(f"{where}.target", "required")
                out["unit"] = _clean_string(row.get("unit"), 20)
                code = _clean_string(row.get("kpi"), 40) or None
                if code is not None and code not in kpi_codes:
                    problems.add(f"{where}.kpi", "not a KPI of the contract")
                out["kpi"] = code
            elif section == "initiatives":
                out["owner"] = _clean_string(row.get("owner"), 200)
                if not out["owner"]:
                    problems.add(f"{where}.owner", "required")
                due = row.get("due")
                if isinstance(due, date):
                    due = due.isoformat()
                out["due"] = _clean_string(due, 10) or None
                if out["due"] is not None:
                    try:
                        date.fromisoformat(out["due"])
                    except ValueError:
                        problems.add(f"{where}.due", "not a date (YYYY-MM-DD)")
                out["status"] = _clean_string(row.get("status"), 20) or "planned"
                if out["status"] not in STATUSES:
                    problems.add(f"{where}.status", "unknown status")
            elif section == "budget":
                amount = _decimal(row.get("amount"))
                if amount is None:
                    problems.add(f"{where}.amount", "not a number")
                elif amount < 0:
                    problems.add(f"{where}.amount", "negative")
                elif quantize_money(amount, currency) != amount:
                    # What is signed must be what is stored: no silent rounding.
                    problems.add(f"{where}.amount", f"too many decimals for {currency}")
                else:
                    out["amount"] = format(quantize_money(amount, currency), "f")
            elif section == "risks":
                out["owner"] = _clean_string(row.get("owner"), 200)
            content[section].append(out)
    if not problems.fields and budget_total(content) >= WORDS_LIMIT:
        problems.add("budget", "total too large")
    problems.raise_if_any()
    return content


def budget_total(content: Mapping[str, Any]) -> Decimal:
    return sum((Decimal(line["amount"]) for line in content.get("budget") or []), Decimal(0))


# --- when each text was written, and the translation gate ------------------------------


def written_times(before: Mapping[str, Any], before_times: Mapping[str, Any], after: Mapping[str, Any],
                  now: datetime) -> dict[str, dict[str, str]]:
    """When each text of ``after`` was written: a text equal to what it was keeps its
    time, a new or changed one is written ``now``.

    A text is looked for at its own path first, then (rows removed or reordered) in
    any row of its section that shares one of its texts."""
    old = [ref for ref in texts(before)]
    stamp = now.isoformat()
    times: dict[str, dict[str, str]] = {}
    for ref in texts(after):
        match = _earlier(ref, old)
        old_text = match.text if match else {}
        old_times = before_times.get(match.path, {}) if match else {}
        times[ref.path] = {
            lang: (old_times.get(lang, "") if old_text.get(lang) == value else stamp)
            for lang, value in ref.text.items()
        }
        times[ref.path] = {lang: at for lang, at in times[ref.path].items() if at}
    return {path: langs for path, langs in times.items() if langs}


def _earlier(ref: TextRef, old: list[TextRef]) -> TextRef | None:
    def shares_a_text(candidate: TextRef) -> bool:
        return any(candidate.text.get(lang) == value for lang, value in ref.text.items())

    same_place = [c for c in old if c.path == ref.path]
    elsewhere = [c for c in old if c.section == ref.section and c.field == ref.field and c.path != ref.path]
    return next((c for c in same_place + elsewhere if shares_a_text(c)), None)


@dataclass(frozen=True)
class Gap:
    """A translation the client cannot sign without: ``missing``, or ``stale`` (written
    before the English text it translates)."""

    path: str
    section: str
    index: int
    field: str | None
    language: str
    kind: str  # missing or stale


def translation_gaps(content: Mapping[str, Any], times: Mapping[str, Any], languages: list[str]) -> list[Gap]:
    """Every missing or stale translation into ``languages`` (English is the source)."""
    gaps = []
    for ref in texts(content):
        stamps = times.get(ref.path, {})
        for lang in languages:
            if lang == SOURCE:
                continue
            if not ref.text.get(lang):
                gaps.append(Gap(ref.path, ref.section, ref.index, ref.field, lang, "missing"))
            elif stamps.get(lang, "") < stamps.get(SOURCE, ""):
                gaps.append(Gap(ref.path, ref.section, ref.index, ref.field, lang, "stale"))
    return gaps


# --- carrying over, and what changed between versions ----------------------------------


def carried_over(content: Mapping[str, Any], times: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a quarterly plan takes from its yearly plan (a monthly from its quarterly):
    the objectives and KPIs, with the times their texts were written."""
    carried = {section: [] for section in SECTIONS}
    carried["objectives"] = [dict(as_text(o)) for o in content.get("objectives") or []]
    carried["kpis"] = [dict(k) for k in content.get("kpis") or []]
    kept = {ref.path for ref in texts(carried)}
    return carried, {path: dict(langs) for path, langs in times.items() if path in kept}


@dataclass(frozen=True)
class Change:
    """One field that differs between two versions. ``field`` is None for a whole row
    added or removed (``before`` or ``after`` is then the row's first text);
    ``language`` is set for a text."""

    section: str
    row: int  # 1-based, as the page numbers rows
    field: str | None
    language: str | None
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.field is None:
            return "added" if self.before is None else "removed"
        return "changed"


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    """The per-field difference between two contents, row by row (rows are compared
    at the same position)."""
    changes = []
    for section in SECTIONS:
        old_rows, new_rows = before.get(section) or [], after.get(section) or []
        for index in range(max(len(old_rows), len(new_rows))):
            if index >= len(old_rows):
                changes.append(Change(section, index + 1, None, None, None, summary(new_rows[index], section)))
            elif index >= len(new_rows):
                changes.append(Change(section, index + 1, None, None, summary(old_rows[index], section), None))
            else:
                changes.extend(_row_changes(section, index, old_rows[index], new_rows[index]))
    return changes


def _row_changes(section: str, index: int, old: Any, new: Any) -> Iterator[Change]:
    for field in TEXT_FIELDS[section]:
        old_text = as_text(old if field is None else old.get(field))
        new_text = as_text(new if field is None else new.get(field))
        for lang in LANGUAGES:
            if old_text.get(lang) != new_text.get(lang):
                yield Change(section, index + 1, field or "text", lang, old_text.get(lang), new_text.get(lang))
    for field in OTHER_FIELDS[section]:
        if (old.get(field) or None) != (new.get(field) or None):
            yield Change(section, index + 1, field, None, old.get(field), new.get(field))
