"""The monthly service review pack: the month's scorecard with its trend chart, KPI
commentary, requests and SLA performance, change requests decided, invoices and the
action registry, rendered by docgen in the account's document languages and stored
as a document. "The month" is the month in the account's time zone."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import force_locale, gettext as _
from sqlalchemy.orm import Session, selectinload

from docgen.i18n import N_
from portal import charts
from portal.accounts import current_contract
from portal.domain import DomainError
from portal.actions import service as actions
from portal.billing import service as billing
from portal.credits import service as service_credits
from portal.documents.service import client_party, conventions, provider, store_document
from portal.kpis import service as kpis
from portal.models import (
    ActionItem,
    Approval,
    ApprovalStage,
    ChangeRequest,
    CRStatus,
    Document,
    DocumentKind,
    Escalation,
    Invoice,
    Role,
    ServiceRequest,
    User,
)
from portal.sequences import next_value


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _share(hits: int, total: int) -> str | None:
    return format((Decimal(hits) / total).quantize(Decimal("0.0001")), "f") if total else None


def _requests(session: Session, account, start: datetime, end: datetime) -> dict:
    in_account = ServiceRequest.account_id == account.id
    opened = session.scalar(sa.select(sa.func.count()).where(in_account, ServiceRequest.created_at >= start,
                                                             ServiceRequest.created_at < end))
    closed = session.scalars(sa.select(ServiceRequest).where(in_account, ServiceRequest.resolved_at >= start,
                                                              ServiceRequest.resolved_at < end)).all()
    answered = session.scalars(sa.select(ServiceRequest).where(in_account, ServiceRequest.first_responded_at >= start,
                                                                ServiceRequest.first_responded_at < end)).all()
    escalated = session.scalar(sa.select(sa.func.count()).select_from(Escalation).where(
        Escalation.account_id == account.id, Escalation.created_at >= start, Escalation.created_at < end))
    return {
        "opened": opened, "closed": len(closed), "escalated": escalated,
        "first_response_met": _share(sum(1 for r in answered if r.first_responded_at <= r.first_response_due_at), len(answered)),
        "resolution_met": _share(sum(1 for r in closed if r.resolved_at <= r.resolution_due_at), len(closed)),
    }


def _change_requests(session: Session, account, start: datetime, end: datetime) -> list[dict]:
    decided = session.execute(
        sa.select(ChangeRequest, Approval).join(Approval, Approval.change_request_id == ChangeRequest.id)
        .where(ChangeRequest.account_id == account.id, Approval.stage == ApprovalStage.CLIENT,
               Approval.decided_at >= start, Approval.decided_at < end)
        .order_by(Approval.decided_at)
    ).all()
    return [{
        "number": cr.number, "title": cr.title, "price_impact": format(cr.price_impact, "f"),
        "decision": "implemented" if cr.status is CRStatus.IMPLEMENTED else approval.decision.value,
        "decided_at": approval.decided_at.isoformat().replace("+00:00", "Z"),
    } for cr, approval in decided]


def _invoices(session: Session, account, period: date, following: date, today: date) -> dict:
    # The pack is the client's: an invoice held for finance's review is not in it, whoever makes it.
    issued = session.scalars(sa.select(Invoice).where(Invoice.account_id == account.id, Invoice.issue_date >= period,
                                                      Invoice.issue_date < following, Invoice.client_visible)
                             .order_by(Invoice.issue_date)).all()
    statement = billing.statement(session, account, today)
    return {
        "issued": [{"number": i.number, "issue_date": i.issue_date.isoformat(), "total": format(i.total, "f"),
                    "status": billing.shown_status(i, today)} for i in issued],
        "open": [{"number": i.number, "due_date": i.due_date.isoformat(), "amount": format(amount, "f"),
                  "days_overdue": days} for i, amount, _bucket, days in statement.items if i.client_visible],
    }


def _service_credits(session: Session, account, period: date) -> dict:
    """The month's approved service credits (the pack is the client's: never a proposal)."""
    credits = sorted(service_credits.earned(session, account, period).values(), key=lambda c: (c.kpi.position, c.kpi.id))
    if not credits:
        return {}
    return {"service_credits": [{"code": c.kpi.code, "name": c.kpi.name, "credit_note": c.credit_note.number,
                                 "amount": format(c.amount, "f")} for c in credits]}


def _actions(session: Session, account, period: date, following: date, today: date) -> dict:
    items = session.scalars(sa.select(ActionItem).where(ActionItem.account_id == account.id)
                            .options(selectinload(ActionItem.owner))).all()
    opened = [i for i in items if period <= actions.raised_on(i, account) < following]
    closed = [i for i in items if i.closed_on and period <= i.closed_on < following]
    shown = [i for i in items if i.status in actions.OPEN or i in closed]
    return {
        "opened": len(opened), "closed": len(closed),
        "overdue": sum(1 for i in items if actions.is_overdue(i, today)),
        "items": [{"title": _title(i), "owner": i.owner_name or "—", "due": i.due_date.isoformat(), "status": i.status.value,
                   "overdue": actions.is_overdue(i, today)} for i in sorted(shown, key=lambda i: i.due_date)],
    }


def _title(item: ActionItem) -> dict[str, str] | str:
    """An item's title for the pack: as written, or per language where it has
    translations (the title as written is the English one)."""
    if not item.title_translations:
        return item.title
    return {"en": item.title, **item.title_translations}


def _chart(session: Session, account, period: date, languages: list[str]) -> dict:
    """The 12-month trend as a PNG, drawn in the document's first language."""
    from docgen.i18n import translations

    trend = kpis.trend(session, account, period)
    with force_locale(languages[0]):
        png = charts.line(
            [f"{m:%Y-%m}" for m in trend.months],
            [(_("Overall attainment"), [v * 100 if v is not None else None for v in trend.overall]),
             (_("KPIs met"), [v * 100 if v is not None else None for v in trend.met_ratio])],
            y_label="%", target=float(kpis.MET_BAR * 100), target_label=_("85 % bar"), fmt="png",
        )
    title = "Overall attainment and share of KPIs met"
    return {"title": {lang: translations(lang).gettext(title) for lang in languages},
            "png_base64": base64.b64encode(png).decode()}


def build_input(session: Session, account, period: date, by: User, languages: list[str], number: str) -> dict:
    from docgen.units import unit_text

    card = kpis.scorecard(session, account, period)
    start, end = account.month_window(period)
    following = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    today = account.today()
    contract = card.contract
    commentary = [row.comment for row in card.rows if row.comment]
    return {
        "kind": "review_pack", "languages": languages, "number": number, "date": today.isoformat(),
        "period": f"{period:%Y-%m}", "provider": provider(by), "client": client_party(account, None),
        "currency": contract.currency if contract else "USD",
        "scorecard": {
            "kpis": [{"code": row.kpi.code, "name": row.kpi.name, "unit": unit_text(row.kpi.unit),
                      "target": format(row.target, "f"), "actual": format(row.actual, "f") if row.actual is not None else None,
                      "attainment": _ratio(row.attainment), "status": row.status, "change": _ratio(row.change),
                      "comment": row.comment or None} for row in card.rows],
            "kpis_met_ratio": _ratio(card.kpis_met_ratio), "overall_attainment": _ratio(card.overall_attainment),
            "threshold": format(kpis.MET_BAR, "f"),
        },
        "charts": [_chart(session, account, period, languages)] if card.rows else [],
        "commentary": commentary,
        "requests": _requests(session, account, start, end),
        "change_requests": _change_requests(session, account, start, end),
        "invoices": _invoices(session, account, period, following, today),
        "actions": _actions(session, account, period, following, today), **conventions(account),
        **_service_credits(session, account, period),
        # Made by a job (the monthly schedule, the command) that cannot ask the issuer:
        # a KPI name, comment or title without a translation is shown as written, marked
        # as the source text, rather than the month's pack not being made at all.
        "untranslated": "show_source",
    }


def ask_for(session: Session, account, period: date, by: User, languages: list[str] | None = None):
    """Ask for the review pack of ``period`` to be made in the background (a job that
    calls ``issue``, signed by ``by``), once this unit of work commits; refused at once,
    like ``issue``, for an account without a contract or languages it does not use."""
    from portal.documents.service import check_languages
    from portal.jobs import enqueue

    if languages:
        check_languages(account, languages)
    if current_contract(session, account, period) is None:
        raise DomainError(_("This account has no contract yet."))
    return enqueue(session, "review_pack", by=by, account_id=account.id, period=f"{period:%Y-%m}", languages=languages)


def issuer_of_record(session: Session) -> User | None:
    """Who signs a pack nobody asked for in person (the command, the monthly job) as
    the provider: the first active administrator."""
    return session.scalar(sa.select(User).where(User.role == Role.ADMIN, User.active).order_by(User.id))


def issue(session: Session, account, period: date, by: User, languages: list[str] | None = None,
          progress: Callable[[float, str], None] | None = None):
    """Render and store the review pack of ``period``: MSR-2026-10-0001, unique in the
    firm per month; issued again for the same contract and month, the next revision of
    that number. Everything is read (``progress`` told how far) before anything is
    written, and the number is taken last: the counter's lock is held only while the
    pack is rendered and stored."""
    from portal.documents.service import check_languages, numbering

    report = progress or (lambda _fraction, _message: None)
    languages = check_languages(account, languages or (account.document_languages or ["en"])[:2])
    report(0.1, N_("Reading the month's scorecard, requests, invoices and actions"))
    card = kpis.scorecard(session, account, period)
    if card.contract is None:
        raise DomainError(_("This account has no contract yet."))
    data = build_input(session, account, period, by, languages, number="")
    report(0.6, N_("Writing the document"))
    month = f"{period:%Y-%m}"
    latest = sa.select(Document).where(Document.kind == DocumentKind.REVIEW_PACK,
                                       Document.contract_id == card.contract.id, Document.number.like(f"MSR-{month}-%"))
    numbered = numbering(session, f"msr:{card.contract.id}:{month}", latest,
                         lambda: f"MSR-{month}-{next_value(session, f'doc:MSR:{month}'):04d}")
    return store_document(session, account, card.contract, DocumentKind.REVIEW_PACK, numbered, data, by)
