"""Invoices for the client and the firm: the list, an invoice, disputes, the
statement of account, and the finance overview of an account."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from html import escape

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from docgen.formatting import quantize_money
from portal import charts
from portal.billing import documents, service
from portal.billing.forms import DisputeForm, ForecastForm, ReleaseForm, SettleForm
from portal.database import may_write, reads_only
from portal.domain import DomainError
from portal.documents.service import DOCX
from portal.exports import table_response
from portal.extensions import db
from portal.files import check_uploads, download_response, uploads_from_request
from portal.forms import choices
from portal.fragments import FragmentCache
from portal.i18n import countries, country_code, current_language, current_locale, day, label, money, month
from portal.accounts import current_contract, todays as local_todays, visible_accounts
from portal.models import Account, Invoice, Role, ServiceRequest
from portal.search.service import normalize
from portal.security import get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("billing", __name__)
# Each worker keeps the invoice list's rendered bodies (the list is the busiest page).
bp.record_once(lambda state: state.app.extensions.setdefault(
    "invoice_lists", FragmentCache(state.app.config["INVOICE_LIST_CACHE_SIZE"])))

FINANCE = (Role.FINANCE, Role.ADMIN)
FIRM_FINANCE_VIEW = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)
CLIENTS = (Role.CLIENT_VIEWER, Role.CLIENT_APPROVER)
PAGE_SIZE = 50


def _accounts() -> list[Account]:
    """The caller's accounts; a client's comes with the signed-in user (no query)."""
    if current_user.is_client:
        return [current_user.account]
    return visible_accounts(db.session)


def _filters() -> service.InvoiceFilters:
    args = request.args
    period = None
    if args.get("period"):
        try:
            period = date.fromisoformat(args["period"] + "-01")
        except ValueError:
            flash(_("Write the period as YYYY-MM."), "error")
    return service.InvoiceFilters(
        status=args.get("status") or None, period=period, service_location=_location(args.get("location", "")),
        po_number=normalize(args.get("po")) or None, number=normalize(args.get("q"))[:40] or None,
        account_id=args.get("account", type=int) if not current_user.is_client else None,
    )


def _location(typed: str) -> str | None:
    """A service location as typed in the filter: its code (``VN``) or its name in the
    reader's language (``Việt Nam``, ``越南``), as the list names it. A name of no
    country is kept as typed, and matches nothing."""
    typed = normalize(typed)
    if len(typed) <= 2 and typed.isascii():  # 中国 is a name of two characters
        return typed.upper() or None
    return country_code(typed) or typed[:60]


def _cursor(raw: str | None) -> tuple[date, int] | None:
    if not raw:
        return None
    try:
        day, ident = raw.split("_", 1)
        key = date.fromisoformat(day), int(ident)
    except ValueError:
        abort(400)
    if not 0 < key[1] < 2**63:
        abort(400)
    return key


# One row of the invoice list. The rows are written here rather than in the template:
# the list is the portal's busiest page, and Jinja would look up, escape and join its 500
# cells one by one. Every text from the database is escaped (dates are Babel's own).
ROW = ('<tr><td class="nowrap"><a href="{}">{}</a></td>{}<td>{}</td><td class="nowrap">{}</td>'
       '<td class="nowrap">{}</td><td class="nowrap">{}</td><td>{}</td><td>{}</td><td class="num">{}</td></tr>')


def _rows(rows, todays: dict[int, date], names: dict[int, str] | None) -> Markup:
    """The list's rows (of ``service.LIST_COLUMNS``), formatted in the caller's language
    with the language and locale looked up once (dates repeat and are cached per
    locale); ``names`` of the accounts when the list has an account column (firm users)."""
    lang, locale = current_language(), current_locale()
    places = countries()  # a service location by its name, as on the invoice's page
    detail = url_for("billing.detail", invoice_id=0)[:-1]
    badge = get_template_attribute("billing/_status.html", "status")
    badges: dict[str, str] = {}
    html = []
    for ident, account_id, number, location, period, issued, due, currency, total, po, status, held_at in rows:
        shown = "held" if held_at is not None else service.status_shown(status, due, todays[account_id])
        if shown not in badges:
            badges[shown] = str(badge(shown))
        account = f"<td>{escape(names.get(account_id, ''))}</td>" if names is not None else ""
        html.append(ROW.format(
            f"{detail}{ident}", escape(number), account, escape(places.get(location, location)),
            month(period, locale=locale),
            day(issued, "short", locale), day(due, "short", locale), escape(po or ""), badges[shown],
            escape(money(total, currency, lang))))
    return Markup("".join(html))


@bp.route("/invoices")
@reads_only
def index():
    accounts = _accounts()
    todays = local_todays(accounts)
    filters = _filters()  # before the cache: a bad period is flashed on every request
    after = _cursor(request.args.get("after"))
    firm = not current_user.is_client
    can_import = current_user.role in FINANCE  # the link to the import page
    # What the body shows depends on this and nothing else. The accounts' versions are
    # read before the invoices (with the signed-in user, or with the firm's accounts).
    key = (current_locale(), request.script_root, firm, can_import, tuple(sorted(request.args.items(multi=True))),
           tuple((a.id, a.invoices_version, todays[a.id], a.name if firm else None) for a in accounts))
    body = current_app.extensions["invoice_lists"].get_or_render(
        key, lambda: _list_body(accounts, todays, filters, after, firm, can_import))
    return render_template("billing/index.html", body=body)


def _list_body(accounts: list[Account], todays: dict[int, date], filters: service.InvoiceFilters,
               after: tuple[date, int] | None, firm: bool, can_import: bool) -> Markup:
    rows, next_key = service.list_page(db.session, filters.conditions(todays), after=after, limit=PAGE_SIZE)
    totals = service.totals_by_currency(db.session, filters, todays)
    args = {k: v for k, v in request.args.items() if k != "after"}
    next_url = url_for("billing.index", **args, after=f"{next_key[0].isoformat()}_{next_key[1]}") if next_key else None
    names = {a.id: a.name for a in accounts} if firm else None
    return Markup(render_template(
        "billing/_list.html", rows=_rows(rows, todays, names), totals=totals, next_url=next_url, args=request.args,
        accounts=accounts, statuses=service.FIRM_STATUSES if firm else service.SHOWN_STATUSES, first_url=url_for("billing.index", **args), firm=firm,
        can_import=can_import))


def _load(invoice_id: int) -> Invoice:
    return get_or_404(db.session, Invoice, invoice_id, selectinload(Invoice.lines), selectinload(Invoice.credit_notes))


@bp.route("/invoices/<int:invoice_id>")
def detail(invoice_id: int):
    invoice = _load(invoice_id)
    account = get_or_404(db.session, Account, invoice.account_id)
    today = account.today()
    dispute_form = DisputeForm()
    dispute_form.lines.choices = choices((line.id, line.description) for line in invoice.lines)
    enquiries = db.session.scalars(sa.select(ServiceRequest).where(ServiceRequest.invoice_id == invoice.id)
                                   .order_by(ServiceRequest.created_at.desc())).all()
    return render_template(
        "billing/detail.html", invoice=invoice, account=account, today=today, status=service.shown_status(invoice, today),
        outstanding=service.outstanding(invoice), credited=service.credited(invoice), enquiries=enquiries,
        dispute_form=dispute_form, settle_form=SettleForm(), can_dispute=current_user.role in CLIENTS,
        can_settle=current_user.role in FINANCE, can_release=current_user.role in FINANCE, release_form=ReleaseForm(),
        firm=not current_user.is_client,
    )


DOCUMENT_FORMATS = ("docx", "pdf")


def _document_answer(document, wanted: str):
    """The document's Word file, or its PDF through the documents' own PDF page (which
    follows the job making it until it is there)."""
    if wanted == "docx":
        return download_response(f"{document.number}.docx", DOCX, document.file.data)
    return redirect(url_for("documents.pdf", document_id=document.id))


def _format() -> str:
    wanted = request.args.get("format", "pdf")
    if wanted not in DOCUMENT_FORMATS:
        abort(404)
    return wanted


@bp.route("/invoices/<int:invoice_id>/file")
@may_write
def invoice_file(invoice_id: int):
    """The invoice as a document in its account's languages (``?format=pdf`` or ``docx``)."""
    invoice = _load(invoice_id)
    wanted = _format()
    account = get_or_404(db.session, Account, invoice.account_id)
    return _document_answer(documents.invoice_document(db.session, invoice, account, current_user), wanted)


@bp.route("/invoices/<int:invoice_id>/dispute", methods=["POST"], back="billing.detail")
@require_role(*CLIENTS)
def dispute(invoice_id: int):
    invoice = _load(invoice_id)
    account = get_or_404(db.session, Account, invoice.account_id)
    form = DisputeForm()
    form.lines.choices = choices((line.id, line.description) for line in invoice.lines)
    if not form.validate_on_submit():
        flash(_("Say what is wrong with the invoice."), "error")
        return redirect(url_for("billing.detail", invoice_id=invoice.id))
    enquiry = service.dispute(db.session, invoice, account, current_user, reason=form.reason.data,
                              disputed_lines=form.lines.data or [], files=check_uploads(uploads_from_request()))
    flash(_("Your billing enquiry #%(id)d is raised; the invoice shows as disputed until it is settled.", id=enquiry.id), "success")
    return redirect(url_for("requests.detail", request_id=enquiry.id))


@bp.route("/invoices/<int:invoice_id>/release", methods=["POST"], back="billing.detail")
@require_role(*FINANCE)
def release(invoice_id: int):
    """Finance releases an invoice held for its prices: the client sees it from now on."""
    invoice = _load(invoice_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        flash(_("Say why the invoice stands at these prices."), "error")
        return redirect(url_for("billing.detail", invoice_id=invoice.id, _anchor="price-check"))
    service.release_invoice(db.session, invoice, current_user, reason=form.reason.data)
    flash(_("Invoice %(number)s is released: the client sees it.", number=invoice.number), "success")
    return redirect(url_for("billing.detail", invoice_id=invoice.id))


@bp.route("/invoices/<int:invoice_id>/settle", methods=["POST"], back="billing.detail")
@require_role(*FINANCE)
def settle(invoice_id: int):
    invoice = _load(invoice_id)
    account = get_or_404(db.session, Account, invoice.account_id)
    form = SettleForm()
    if form.validate_on_submit():
        credit = None
        if form.credit_amount.data:
            number = normalize(form.credit_number.data)  # as pasted from a document, too
            if not number:
                flash(_("Give the credit note a number."), "error")
                return redirect(url_for("billing.detail", invoice_id=invoice.id))
            credit = (number, form.credit_amount.data)
        service.settle_dispute(db.session, invoice, account, current_user, explanation=form.explanation.data,
                               credit=credit)
        flash(_("The dispute is settled."), "success")
    else:
        flash(_("Explain how the dispute is settled."), "error")
    return redirect(url_for("billing.detail", invoice_id=invoice.id))


# --- statement -----------------------------------------------------------------------------


def _statement_account(accounts: list[Account]) -> Account:
    """The account of ``?account=``, else the caller's first (a client user's own)."""
    account_id = request.args.get("account", type=int) or accounts[0].id if accounts else None
    if account_id is None:
        abort(404)
    return get_or_404(db.session, Account, account_id)


@bp.route("/invoices/statement")
def statement():
    accounts = _accounts()
    account = _statement_account(accounts)
    result = service.statement(db.session, account)
    fmt = request.args.get("format")
    if fmt:
        header = [_("Invoice"), _("Issue date"), _("Due date"), _("Currency"), _("Open amount"), _("Days overdue"), _("Ageing")]
        rows = [[inv.number, inv.issue_date, inv.due_date, inv.currency, quantize_money(amount, inv.currency), days,
                 label("ageing", bucket)] for inv, amount, bucket, days in result.items]
        return table_response(fmt, f"statement-{account.id}-{result.today.isoformat()}", header, rows)
    return render_template("billing/statement.html", account=account, accounts=accounts, result=result,
                           buckets=service.BUCKETS)


@bp.route("/invoices/statement/file")
@may_write
def statement_file():
    """The statement of account as a document in the account's languages (``?format=``)."""
    account = _statement_account(_accounts())
    wanted = _format()
    return _document_answer(documents.statement_document(db.session, account, current_user), wanted)


# --- the firm's finance overview ---------------------------------------------------------


@bp.route("/accounts/<int:account_id>/finance", methods=["GET", "POST"])
@require_role(*FIRM_FINANCE_VIEW)
def finance(account_id: int):
    account = get_or_404(db.session, Account, account_id)
    contract = current_contract(db.session, account)
    today = account.today()
    months = service.months_back(today, 12)
    form = ForecastForm()
    page = keep_form(form, lambda: _finance_page(account, contract, months, form))
    if form.validate_on_submit() and current_user.role in (Role.ACCOUNT_MANAGER, Role.ADMIN) and contract:
        for month in months:
            raw = (request.form.get(f"forecast-{month.isoformat()}") or "").strip().replace(",", "")
            service.set_forecast(db.session, account, current_user, month, _amount(raw), contract.currency)
        flash(_("Forecast saved."), "success")
        return redirect(url_for("billing.finance", account_id=account.id))
    return page()


def _amount(raw: str) -> Decimal | None:
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        raise DomainError(_("A forecast is an amount such as 125000.00.")) from None


def _finance_page(account: Account, contract, months: list[date], form: ForecastForm):
    today = account.today()
    currency = service.figures_currency(account, contract)
    billed = service.billed_by_month(db.session, account, months, currency)
    forecast = service.forecasts(db.session, account, months)
    dso_now = service.dso(db.session, account, currency, today)
    return render_template(
        "billing/finance.html", account=account, contract=contract, months=months, billed=billed, forecast=forecast,
        dso=dso_now, dso_trend=service.dso_trend(db.session, account, months, currency),
        ytd=service.revenue_ytd(db.session, account, contract, today) if contract else None,
        orders=service.purchase_orders(db.session, account), form=form,
        can_forecast=current_user.role in (Role.ACCOUNT_MANAGER, Role.ADMIN),
    )


def _month_labels(months: list[date]) -> list[str]:
    return [f"{m:%Y-%m}" for m in months]


@bp.route("/accounts/<int:account_id>/finance/revenue.svg")
@require_role(*FIRM_FINANCE_VIEW)
def revenue_chart(account_id: int):
    account = get_or_404(db.session, Account, account_id)

    def compute() -> charts.Chart:
        contract = current_contract(db.session, account)
        months = service.months_back(account.today(), 12)
        billed = service.billed_by_month(db.session, account, months, service.figures_currency(account, contract))
        forecast = service.forecasts(db.session, account, months)
        monthly_acv = [contract.annual_value / 12 if contract else None] * len(months)
        return charts.Chart.bars_and_lines(
            account.id, _month_labels(months), (_("Billed"), [billed[m] for m in months]),
            [(_("ACV per month"), monthly_acv), (_("Forecast"), [forecast[m] for m in months])],
            title=_("Billed revenue against the ACV"), y_label=contract.currency if contract else "")

    return charts.serve("revenue", account.id, compute)


@bp.route("/accounts/<int:account_id>/finance/dso.svg")
@require_role(*FIRM_FINANCE_VIEW)
def dso_chart(account_id: int):
    account = get_or_404(db.session, Account, account_id)

    def compute() -> charts.Chart:
        months = service.months_back(account.today(), 12)
        currency = service.figures_currency(account, current_contract(db.session, account))
        trend = service.dso_trend(db.session, account, months, currency)
        return charts.Chart.line(account.id, _month_labels(months), [(_("Debtor days (DSO)"), [v for _m, v in trend])],
                                 title=_("Debtor days, month by month"), y_label=_("days"))

    return charts.serve("dso", account.id, compute)

