"""Search: the requests, change requests, invoices, documents, plans and action items
the caller may see, found by number or by words of their titles in any of the three
languages.

Matching is by substring and without regard to case (``folded``), not by words:
Chinese has no spaces, so 薪资 must be found inside 越南薪资处理. Every language a text
is held in is searched, whatever the reader's language (a Vietnamese reader may type an
English number or a Chinese name). Words separated by spaces must each match, each in
any of the object's texts: "payroll vietnam" finds "Add payroll for Vietnam entity".

Every statement goes through the scoped session (``portal.security``): another
account's rows, and for a client user what each model's ``client_visible`` hides (a
draft change request, a plan not yet sent for review, a document still in review), are
absent here exactly as they are from the lists. For the same reason a client's words
are matched against the plan version sent for review, which is what a client reads
(``plans.service.shown_content``), never against the firm's working copy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from docgen.i18n import LANGUAGES
from portal.accounts import todays
from portal.billing.service import shown_status
from portal.database import folded
from portal.domain import DomainError
from portal.i18n import LABELS, label, localized
from portal.models import (
    Account,
    ActionItem,
    ChangeRequest,
    CreditNote,
    Document,
    DocumentKind,
    Invoice,
    Plan,
    PlanType,
    PlanVersion,
    ServiceRequest,
    User,
)
from portal.plans.content import TEXT_FIELDS
from portal.plans.labels import PLAN_TYPES, plan_label
from portal.text import visible

MIN_LENGTH = 2
MAX_LENGTH = 100
LIMIT = 50  # hits in all; when more match, each kind gets a fair share of them

# The order of the kinds on the results page and in the API's list.
KINDS = ("request", "change_request", "invoice", "document", "plan", "action")
KIND_NAMES = {
    "request": _l("Requests"),
    "change_request": _l("Change requests"),
    "invoice": _l("Invoices"),
    "document": _l("Documents"),
    "plan": _l("Plans"),
    "action": _l("Action items"),
}
# The page of each kind's object, and the name of its id in the path.
PAGES = {
    "request": ("requests.detail", "request_id"),
    "change_request": ("change_requests.detail", "change_request_id"),
    "invoice": ("billing.detail", "invoice_id"),
    "document": ("documents.detail", "document_id"),
    "plan": ("plans.detail", "plan_id"),
    "action": ("actions.detail", "action_id"),
}
REQUEST_NUMBER = re.compile(r"#?(\d{1,18})")


@dataclass(frozen=True)
class Hit:
    """One object found: its title and status in the reader's language."""

    kind: str
    id: int
    account_id: int
    title: str
    status: str

    @property
    def url(self) -> str:
        endpoint, arg = PAGES[self.kind]
        return url_for(endpoint, **{arg: self.id})


@dataclass
class Results:
    query: str
    hits: list[Hit] = field(default_factory=list)
    more: bool = False  # more matched than ``LIMIT``: the caller should add words

    def by_kind(self) -> list[tuple[str, list[Hit]]]:
        """The hits in groups, in the order of ``KINDS``, leaving out kinds without any."""
        groups = [(kind, [hit for hit in self.hits if hit.kind == kind]) for kind in KINDS]
        return [(kind, hits) for kind, hits in groups if hits]


def normalize(text: str | None) -> str:
    """A query or filter as matched: composed Unicode (a Vietnamese letter typed as a base
    and combining marks is the same letter as stored), without invisible format
    characters (``portal.text.visible``: a number pasted out of a document), spaces
    (no-break ones too) collapsed."""
    return " ".join(visible(unicodedata.normalize("NFC", text or "")).split())


def query_problem(query: str) -> Any:
    """Why ``query`` (normalized) cannot be searched for, or None."""
    if len(query) < MIN_LENGTH:
        return _l("Type at least %(count)d characters to search.", count=MIN_LENGTH)
    if len(query) > MAX_LENGTH:
        return _l("Type at most %(count)d characters to search.", count=MAX_LENGTH)
    return None


def search(session: Session, user: User, text: str | None, *, language: str) -> Results:
    """What ``user`` may see that matches ``text``, titled in ``language``: at most
    ``LIMIT`` hits, grouped by kind, newest first within a kind (an exact number
    first). Refuses (422) a query shorter than ``MIN_LENGTH`` or longer than
    ``MAX_LENGTH`` characters."""
    query = normalize(text)
    problem = query_problem(query)
    if problem is not None:
        raise DomainError(problem, fields={"q": f"{MIN_LENGTH} to {MAX_LENGTH} characters"})
    terms = list(dict.fromkeys(term.lower() for term in query.split()))
    finders = {"request": _requests, "change_request": _change_requests, "invoice": _invoices,
               "document": _documents, "plan": _plans, "action": _actions}
    found = {kind: finders[kind](session, user, terms) for kind in KINDS}
    shares = _fair_shares({kind: len(rows) for kind, rows in found.items()}, LIMIT)
    kept = {kind: found[kind][:shares[kind]] for kind in KINDS}
    titles = _Titles(session, language, needs_todays=bool(kept["invoice"]))
    with force_locale(language):
        hits = [titles.hit(kind, row) for kind in KINDS for row in kept[kind]]
    return Results(query, hits, more=any(len(found[kind]) > shares[kind] for kind in KINDS))


def _fair_shares(counts: dict[str, int], limit: int) -> dict[str, int]:
    """How many of each kind's matches to show: one of each in turn until ``limit``,
    so that many matching requests do not crowd out the one matching invoice."""
    shares = dict.fromkeys(counts, 0)
    left = limit
    while left > 0 and any(shares[kind] < counts[kind] for kind in counts):
        for kind in counts:
            if left > 0 and shares[kind] < counts[kind]:
                shares[kind] += 1
                left -= 1
    return shares


# --- matching -------------------------------------------------------------------------


def _variants(column: Any) -> list[sa.ColumnElement[str]]:
    """The texts of a column to match: each language of a per-language text (a JSON
    ``{"en": ..., "zh": ..., "vi": ...}``), or the column itself."""
    if isinstance(column.type, sa.JSON):
        return [column[language].as_string() for language in LANGUAGES]
    return [column]


def _contains(text: sa.ColumnElement[str], term: str) -> sa.ColumnElement[bool]:
    """``term`` (lower case) inside ``text``, whatever their case; ``%`` and ``_`` typed
    by the user are matched as themselves."""
    return folded(text).contains(term, autoescape=True)


def _every_term(terms: list[str], condition: Callable[[str], sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    return sa.and_(*(condition(term) for term in terms))


def _any_text(texts: Iterable[sa.ColumnElement[str]], term: str, *more: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.or_(*(_contains(text, term) for text in texts), *more)


def _newest(session: Session, query: sa.Select, model: Any, number: Any = None, terms: list[str] = ()) -> list:
    """The matches, an exact number first, then newest first; one more than ``LIMIT``
    tells that there are more."""
    order = [model.id.desc()]
    if number is not None and len(terms) == 1:
        order.insert(0, sa.case((folded(number) == terms[0], 0), else_=1))
    return list(session.scalars(query.order_by(*order).limit(LIMIT + 1)))


def _requests(session: Session, user: User, terms: list[str]) -> list[ServiceRequest]:
    def matches(term: str) -> sa.ColumnElement[bool]:
        number = REQUEST_NUMBER.fullmatch(term)
        by_number = (ServiceRequest.id == int(number[1]),) if number else ()
        return _any_text(_variants(ServiceRequest.subject), term, *by_number)

    return _newest(session, sa.select(ServiceRequest).where(_every_term(terms, matches)), ServiceRequest)


def _change_requests(session: Session, user: User, terms: list[str]) -> list[ChangeRequest]:
    texts = [ChangeRequest.number, *_variants(ChangeRequest.title)]
    query = sa.select(ChangeRequest).where(_every_term(terms, lambda term: _any_text(texts, term)))
    return _newest(session, query, ChangeRequest, ChangeRequest.number, terms)


def _invoices(session: Session, user: User, terms: list[str]) -> list[Invoice]:
    """By its number, its purchase order's, or the number of a credit note on it."""

    def matches(term: str) -> sa.ColumnElement[bool]:
        credit_note = Invoice.credit_notes.any(_contains(CreditNote.number, term))
        return _any_text([Invoice.number, Invoice.po_number], term, credit_note)

    query = sa.select(Invoice).where(_every_term(terms, matches))
    return _newest(session, query, Invoice, Invoice.number, terms)


def _documents(session: Session, user: User, terms: list[str]) -> list[Document]:
    """By number, title, or the name of its kind ("work order", "工作订单")."""

    def matches(term: str) -> sa.ColumnElement[bool]:
        kinds = _named(LABELS["document_kind"], term)
        by_kind = (Document.kind.in_([DocumentKind(k) for k in kinds]),) if kinds else ()
        return _any_text([Document.number, *_variants(Document.title)], term, *by_kind)

    query = sa.select(Document).where(_every_term(terms, matches))
    return _newest(session, query, Document, Document.number, terms)


def _actions(session: Session, user: User, terms: list[str]) -> list[ActionItem]:
    texts = [ActionItem.title, *_variants(ActionItem.title_translations)]
    return _newest(session, sa.select(ActionItem).where(_every_term(terms, lambda term: _any_text(texts, term))), ActionItem)


def _plans(session: Session, user: User, terms: list[str]) -> list[Plan]:
    """By period (FY2027, 2027-Q1), the name of its type ("JBP", "联合业务计划"), or the
    words of its objectives, KPIs, initiatives, budget and risks."""
    dialect = session.get_bind().dialect.name

    def matches(term: str) -> sa.ColumnElement[bool]:
        types = _named(PLAN_TYPES, term) | {t.value for t in PlanType if term in t.value}
        by_type = (Plan.plan_type.in_([PlanType(t) for t in types]),) if types else ()
        return _any_text([Plan.period], term, *by_type, _plan_texts(dialect, user, term))

    return _newest(session, sa.select(Plan).where(_every_term(terms, matches)), Plan)


def _plan_texts(dialect: str, user: User, term: str) -> sa.ColumnElement[bool]:
    """Whether a text of the plan's content holds ``term``: the firm's working copy, or
    for a client the version last sent for review (what a client reads)."""
    if not user.is_client:
        return _content_holds(dialect, Plan.content, "$", term)
    shown = sa.select(PlanVersion.id).where(PlanVersion.plan_id == Plan.id, PlanVersion.number == Plan.version_number,
                                            _content_holds(dialect, PlanVersion.content, "$.content", term))
    return shown.exists()


def _content_holds(dialect: str, content: Any, root: str, term: str) -> sa.ColumnElement[bool]:
    """A text of ``content`` at ``root`` (a section's texts, ``plans.content.TEXT_FIELDS``,
    in any language) holds ``term``. JSON is walked the way each database can:
    ``json_tree`` on SQLite, a JSON path per field on PostgreSQL."""
    fields = [(section, name) for section, names in TEXT_FIELDS.items() for name in names]
    if dialect == "sqlite":
        node = sa.func.json_tree(content, root).table_valued("type", "value", "fullkey").alias("node")
        # "$.kpis[0].name.zh", or "$.kpis[0].name" for a text held in one language only
        where = [node.c.fullkey.like(f"{root}.{section}[%]" + (f".{name}%" if name else "%")) for section, name in fields]
        return sa.exists(sa.select(1).select_from(node).where(node.c.type == "text", sa.or_(*where),
                                                                _contains(node.c.value, term)))
    document = sa.cast(content, postgresql.JSONB)
    holds = []
    for section, name in fields:
        path = f"{root}.{section}[*]" + (f".{name}" if name else "") + ".**"  # a text, or each language of it
        node = sa.func.jsonb_path_query(document, sa.literal(path, postgresql.JSONPATH)).column_valued("node")
        text = node.op("#>>")(sa.literal_column("'{}'"))
        holds.append(sa.exists(sa.select(1).where(sa.func.jsonb_typeof(node) == "string", _contains(text, term))))
    return sa.or_(*holds)


def _named(labels: dict[str, Any], term: str) -> set[str]:
    """The codes whose name, in any language, holds ``term``."""
    return {code for code, names in _names_everywhere(labels).items() if any(term in name for name in names)}


_NAMES: dict[int, dict[str, tuple[str, ...]]] = {}


def _names_everywhere(labels: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each code's name in every language, lower case, built once per table of labels
    (the catalogs do not change while the process runs)."""
    names = _NAMES.get(id(labels))
    if names is None:
        collected: dict[str, list[str]] = {code: [] for code in labels}
        for language in LANGUAGES:
            with force_locale(language):
                for code, message in labels.items():
                    collected[code].append(str(message).lower())
        names = _NAMES[id(labels)] = {code: tuple(words) for code, words in collected.items()}
    return names


# --- what the reader sees -------------------------------------------------------------


class _Titles:
    """Each hit's title and status in the reader's language."""

    def __init__(self, session: Session, language: str, *, needs_todays: bool):
        self.language = language
        self.todays = todays(list(session.scalars(sa.select(Account)))) if needs_todays else {}

    def hit(self, kind: str, row: Any) -> Hit:
        title, status = getattr(self, kind)(row)
        return Hit(kind, row.id, row.account_id, title, status)

    def request(self, row: ServiceRequest) -> tuple[str, str]:
        return f"#{row.id} {localized(row.subject, self.language)}", label("request_status", row.status)

    def change_request(self, row: ChangeRequest) -> tuple[str, str]:
        return f"{row.number} {localized(row.title, self.language)}", label("cr_status", row.status)

    def invoice(self, row: Invoice) -> tuple[str, str]:
        return row.number, label("invoice_status", shown_status(row, self.todays[row.account_id]))

    def document(self, row: Document) -> tuple[str, str]:
        name = localized(row, "title", self.language) or label("document_kind", row.kind)
        return f"{row.label} {name}", label("document_status", row.status)

    def plan(self, row: Plan) -> tuple[str, str]:
        return f"{plan_label('type', row.plan_type)} {row.period}", plan_label("status", row.status)

    def action(self, row: ActionItem) -> tuple[str, str]:
        return localized(row, "title", self.language), label("action_status", row.status)
