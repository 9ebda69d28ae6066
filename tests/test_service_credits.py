"""Service credits: an SLA that missed its target earns a credit under the contract's
rule and caps; finance approves (a credit note, its document) or waives; the client sees
approved credits only."""

from __future__ import annotations

import html
import io
import re
from datetime import date, datetime, timezone
from decimal import Decimal

import docx
import pytest
import sqlalchemy as sa

from docgen.formatting import format_money
from docgen.i18n import Lang, translations
from docgen.typesetting import WORD_JOINER
from portal import inbox
from portal.billing import service as billing
from portal.billing.imports import Incoming, upsert_invoices, validate_invoice
from portal.billing.service import outstanding, release_invoice, statement
from portal.credits import service
from portal.domain import Conflict
from portal.models import (
    AuditEvent,
    CreditNote,
    Document,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Kpi,
    KpiDirection,
    KpiMeasurement,
    Role,
    ScopeLine,
    ServiceCredit,
    ServiceCreditStatus,
)
from portal.models.base import utcnow
from portal.security import scope_for, scoped_to
from tests.conftest import Browser
from tests.docgen.reading import full_text, open_docx

PERIOD = date(2025, 3, 1)
MONTHLY = Decimal("84000.00")  # the covered line's monthly charge: 5 % of it is 4,200.00


def sla_world(session, world, *, percent: str = "5", start: date = date(2025, 1, 15)) -> Kpi:
    """``world``'s contract with one line billed 84,000.00 a month (its factory line
    retired) and its KPI made an SLA of ``percent`` on target 99 %."""
    contract = world["contract"]
    contract.start_date, contract.annual_value = start, MONTHLY * 12
    world["scope_line"].removed_at = datetime(2024, 12, 31, tzinfo=timezone.utc)
    line = ScopeLine(account_id=contract.account_id, contract_id=contract.id, service={"en": "Payroll", "zh": "薪资",
                     "vi": "Tính lương"}, unit="month", quantity=Decimal(12), unit_price=MONTHLY, position=2)
    session.add(line)
    kpi = world["kpi"]
    kpi.is_sla, kpi.service_credit_percent = True, Decimal(percent)
    session.flush()
    return kpi


def measure(session, kpi: Kpi, period: date, actual: str) -> None:
    session.add(KpiMeasurement(account_id=kpi.account_id, kpi_id=kpi.id, period=period, actual=Decimal(actual)))
    session.flush()


def proposed(session, world) -> Kpi:
    """``sla_world``'s SLA missed in ``PERIOD`` (90 % against 99 %) and the month proposed: 4,200.00."""
    kpi = sla_world(session, world)
    measure(session, kpi, PERIOD, "90")
    service.propose(session, PERIOD)
    return kpi


def credit_of(session, kpi: Kpi, period: date = PERIOD) -> ServiceCredit | None:
    return session.scalar(sa.select(ServiceCredit).where(ServiceCredit.kpi_id == kpi.id, ServiceCredit.period == period))


def second_sla(session, world, percent: str = "5") -> Kpi:
    kpi = Kpi(account_id=world.account.id, contract_id=world["contract"].id, code="ACC", name={"en": "Accuracy"},
              unit="%", target=Decimal("99"), direction=KpiDirection.HIGHER, is_sla=True,
              service_credit_percent=Decimal(percent), position=5)
    session.add(kpi)
    session.flush()
    return kpi


@pytest.mark.parametrize("actual, expected", [("99", None), ("98.99", Decimal("4200.00"))])
def test_an_sla_exactly_on_target_earns_nothing_and_just_below_earns_its_credit(session, alpha, actual, expected):
    kpi = sla_world(session, alpha)
    measure(session, kpi, PERIOD, actual)
    service.propose(session, PERIOD)
    credit = credit_of(session, kpi)
    assert (credit.amount if credit else None) == expected
    if credit:
        assert credit.status is ServiceCreditStatus.PROPOSED
        [line] = credit.calculation["lines"]
        assert (line["monthly_charge"], line["percent"], line["amount"]) == ("84000", "5", "4200")


@pytest.mark.parametrize("cap, second, reduction", [("10", "4200", "0"), ("9.99", "4191.6", "8.4")])
def test_the_month_cap_limits_the_months_credits_of_the_contract_at_its_boundary(session, alpha, cap, second,
                                                                                  reduction):
    kpi = sla_world(session, alpha)
    other = second_sla(session, alpha)
    alpha["contract"].credit_cap_month_percent = Decimal(cap)  # 10 % of 84,000.00 is exactly both credits
    measure(session, kpi, PERIOD, "90")
    measure(session, other, PERIOD, "90")
    service.propose(session, PERIOD)
    service.propose(session, PERIOD)  # run again: the same amounts
    assert credit_of(session, kpi).amount == Decimal("4200")
    credit = credit_of(session, other)
    assert credit.amount == Decimal(second)
    [month_cap] = credit.calculation["caps"]
    assert (month_cap["cap"], month_cap["used"], month_cap["reduction"]) == ("month", "4200", reduction)


def test_the_year_cap_counts_the_contract_year_and_starts_again_with_the_next(session, alpha):
    kpi = sla_world(session, alpha)
    alpha["contract"].credit_cap_year_percent = Decimal("1")  # 1 % of the ACV 1,008,000.00: 10,080.00 a year
    months = [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)]
    for month in months:
        measure(session, kpi, month, "90")
    for month in months:
        service.propose(session, month)
    amounts = [credit_of(session, kpi, month).amount for month in months]
    # October and November in full (8,400.00), December the 1,680.00 left; January opens a new contract year.
    assert amounts == [Decimal("4200"), Decimal("4200"), Decimal("1680"), Decimal("4200")]
    cap = credit_of(session, kpi, months[2]).calculation["caps"][0]
    assert (cap["cap"], cap["year_from"], cap["limit"], cap["reduction"]) == ("year", "2025-01-01", "10080", "2520")
    service.propose(session, months[0])  # an earlier month run again keeps its amount
    assert credit_of(session, kpi, months[0]).amount == Decimal("4200")


def test_a_waived_credit_issues_no_credit_note_and_stays_decided(session, alpha):
    kpi = proposed(session, alpha)
    credit = credit_of(session, kpi)
    with pytest.raises(service.DomainError):
        service.waive(session, credit, alpha.user(Role.FINANCE), reason=" ")
    service.waive(session, credit, alpha.user(Role.FINANCE), reason="Outage caused by the client's own systems")
    assert credit.status is ServiceCreditStatus.WAIVED and credit.credit_note_id is None
    measure_again = session.scalar(sa.select(KpiMeasurement).where(KpiMeasurement.kpi_id == kpi.id,
                                                                   KpiMeasurement.period == PERIOD))
    measure_again.actual = Decimal("80")
    assert service.propose(session, PERIOD).decided == 1
    assert credit_of(session, kpi).status is ServiceCreditStatus.WAIVED
    with pytest.raises(Conflict):
        service.approve(session, credit, alpha.account, alpha.user(Role.FINANCE))


def _next_invoice(session, world, total: str) -> Invoice:
    invoice = Invoice(account_id=world.account.id, number="INV-NEXT", contract_id=world["contract"].id,
                      service_location="GB", period_start=date(2025, 4, 1), period_end=date(2025, 4, 30),
                      issue_date=date(2025, 5, 2), due_date=date(2025, 6, 1), currency="USD",
                      subtotal=Decimal(total), tax=Decimal(0), total=Decimal(total), status=InvoiceStatus.ISSUED)
    session.add(invoice)
    session.flush()
    return invoice


@pytest.mark.parametrize("room", [True, False])
def test_approving_issues_a_numbered_credit_note_against_the_next_invoice_or_standalone(session, alpha, room):
    kpi = sla_world(session, alpha)
    invoice = _next_invoice(session, alpha, "90000.00" if room else "3999.99")
    measure(session, kpi, PERIOD, "90")
    service.propose(session, PERIOD)
    credit = credit_of(session, kpi)
    finance = alpha.user(Role.FINANCE)
    with pytest.raises(service.DomainError):  # a different amount needs its reason
        service.approve(session, credit, alpha.account, finance, amount=Decimal("4000"))
    note = service.approve(session, credit, alpha.account, finance, amount=Decimal("4000"), reason="Agreed at the QBR")
    year = alpha.account.today().year
    assert note.number == f"SC-{year}-0001" and note.amount == Decimal("4000.00")
    assert note.invoice_id == (invoice.id if room else None)
    assert (credit.status, credit.computed_amount, credit.amount) == (ServiceCreditStatus.APPROVED, Decimal("4200"),
                                                                      Decimal("4000"))
    document = session.scalar(sa.select(Document).where(Document.id == credit.document_id))
    assert (document.kind, document.number) == (DocumentKind.CREDIT_NOTE, note.number)
    with pytest.raises(Conflict):
        service.approve(session, credit, alpha.account, finance)


def test_a_credit_note_never_goes_against_an_invoice_the_client_cannot_see(session, alpha):
    """The next invoice is held for its prices (the client does not see it yet, and the
    billing system may replace it): the credit note stands alone."""
    kpi = sla_world(session, alpha)
    invoice = _next_invoice(session, alpha, "90000.00")
    invoice.held_at = utcnow()
    measure(session, kpi, PERIOD, "90")
    service.propose(session, PERIOD)
    finance = alpha.user(Role.FINANCE)
    note = service.approve(session, credit_of(session, kpi), alpha.account, finance)
    assert note.invoice_id is None

    release_invoice(session, invoice, finance, reason="The rate agreed at the QBR")  # the client sees it now
    assert note.invoice_id == invoice.id and outstanding(invoice) == Decimal("85800.00")
    event = session.scalar(sa.select(AuditEvent.data).where(AuditEvent.action == "credit_note.set_against_invoice"))
    assert (event["number"], event["invoice"], Decimal(event["amount"])) == (note.number, "INV-NEXT", Decimal("4200"))


def _imported(session, world, number: str, total: str, period: date = date(2025, 4, 1),
              scope_line_id: int | None = None) -> Invoice:
    """An invoice of ``world``'s contract for ``period`` from the billing system (one
    line, naming ``scope_line_id`` if given)."""
    upsert_invoices(session, Incoming([validate_invoice({
        "number": number, "account": world.account.name, "contract": world["contract"].number,
        "service_location": "GB", "period_start": period.isoformat(), "period_end": period.replace(day=28).isoformat(),
        "issue_date": "2025-05-02", "due_date": "2025-06-01", "currency": "USD",
        "lines": [{"description": "Payroll", "quantity": "1", "unit_price": total, "scope_line_id": scope_line_id}],
    })]))
    return session.scalar(sa.select(Invoice).where(Invoice.number == number))


def test_a_standalone_credit_note_is_set_against_the_contracts_next_imported_invoice_with_room(session, alpha):
    """What the standalone note's document promises ("set against the next invoice of the
    contract"), once that invoice comes in from the billing system: not one of the
    credit's own month, not one too small for it."""
    kpi = proposed(session, alpha)  # 4,200.00 for March
    note = service.approve(session, credit_of(session, kpi), alpha.account, alpha.user(Role.FINANCE))
    assert note.invoice_id is None and statement(session, alpha.account).credits == [note]

    _imported(session, alpha, "INV-MARCH", "90000.00", period=PERIOD)
    _imported(session, alpha, "INV-SMALL", "4199.99")
    assert session.scalar(sa.select(CreditNote.invoice_id).where(CreditNote.id == note.id)) is None

    april = _imported(session, alpha, "INV-APRIL", "90000.00")
    note = session.scalar(sa.select(CreditNote).where(CreditNote.id == note.id))
    assert note.invoice_id == april.id and outstanding(april) == Decimal("85800.00")
    assert statement(session, alpha.account).credits == []
    _imported(session, alpha, "INV-APRIL", "90000.00")  # sent again by the billing system: still credited once
    assert [n.number for n in session.scalar(sa.select(Invoice).where(Invoice.number == "INV-APRIL")).credit_notes] == [
        note.number]


def test_a_released_invoice_sent_again_unchanged_stays_the_clients_with_the_credit_note_set_at_release(session,
                                                                                                        alpha):
    """Finance released the invoice (a price above the contract's, agreed) and the waiting
    credit note was set against it; the billing system sends it again as it was: both
    stay the client's. At another price it is held again, for the new difference."""
    kpi = proposed(session, alpha)
    finance = alpha.user(Role.FINANCE)
    note = service.approve(session, credit_of(session, kpi), alpha.account, finance)
    payroll = session.scalar(sa.select(ScopeLine.id).where(ScopeLine.contract_id == alpha["contract"].id,
                                                           ScopeLine.unit_price == MONTHLY))
    april = _imported(session, alpha, "INV-APRIL", "90000.00", scope_line_id=payroll)  # the contract says 84,000.00
    assert april.held_at is not None and note.invoice_id is None
    release_invoice(session, april, finance, reason="Rush fee agreed at the QBR")
    assert note.invoice_id == april.id

    def clients_view() -> tuple[Invoice | None, list[str]]:
        session.expire_all()
        with scoped_to(scope_for(alpha.user(Role.CLIENT_APPROVER))):
            invoice = session.scalar(sa.select(Invoice).where(Invoice.number == "INV-APRIL"))
            return invoice, [n.number for n in invoice.credit_notes] if invoice is not None else []

    april = _imported(session, alpha, "INV-APRIL", "90000.00", scope_line_id=payroll)
    seen, notes = clients_view()
    assert seen is not None and notes == [note.number] and outstanding(seen) == Decimal("85800.00")

    _imported(session, alpha, "INV-APRIL", "90500.00", scope_line_id=payroll)
    assert clients_view()[0] is None
    assert session.scalar(sa.select(Invoice.held_at).where(Invoice.number == "INV-APRIL")) is not None


def test_a_waiting_credit_note_lowers_the_receivables_and_the_billed_revenue(session, alpha):
    """Until it is set against an invoice, the note is the client's credit: DSO's receivables
    and the month's billed revenue count it (in full: no invoice to share tax with)."""
    today = alpha.account.today()
    owed = Invoice(account_id=alpha.account.id, number="INV-OWED", contract_id=alpha["contract"].id,
                   service_location="GB", period_start=PERIOD, period_end=date(2025, 3, 31),
                   issue_date=today, due_date=today, currency="USD", subtotal=Decimal("10000.00"), tax=Decimal(0),
                   total=Decimal("10000.00"), status=InvoiceStatus.ISSUED)
    session.add(owed)
    kpi = proposed(session, alpha)
    month = billing.month_start(today)
    before_dso, before_billed = billing.dso(session, alpha.account, "USD", today), billing.billed_by_month(session, alpha.account, [month], "USD")
    note = service.approve(session, credit_of(session, kpi), alpha.account, alpha.user(Role.FINANCE))
    assert note.invoice_id is None and note.issue_date == today
    after = billing.dso(session, alpha.account, "USD", today)
    assert after.receivables == before_dso.receivables - Decimal("4200.00")
    assert billing.billed_by_month(session, alpha.account, [month], "USD")[month] == before_billed[month] - Decimal("4200.00")


def _document_text(document: Document) -> str:
    parsed = docx.Document(io.BytesIO(document.file.data))
    cells = [cell.text for table in parsed.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in parsed.paragraphs] + cells).replace(WORD_JOINER, "")


@pytest.mark.parametrize("language, currency, title, words", [
    ("zh", "CNY", "贷项通知单", "人民币肆仟贰佰元整"),
    ("vi", "VND", "Hóa đơn điều chỉnh giảm", "Bốn nghìn hai trăm đồng"),
])
def test_the_credit_note_reads_in_the_accounts_language(session, alpha, language, currency, title, words):
    alpha.account.document_languages = [language]
    alpha["contract"].currency = currency
    kpi = proposed(session, alpha)
    credit = credit_of(session, kpi)
    service.approve(session, credit, alpha.account, alpha.user(Role.FINANCE))
    text = _document_text(session.scalar(sa.select(Document).where(Document.id == credit.document_id)))
    assert title in text
    assert Lang(language, currency=currency).money(Decimal("4200")).replace(WORD_JOINER, "") in text
    assert words in text


def test_the_client_sees_an_approved_credit_on_the_scorecard_and_never_a_proposed_one(app, session, worlds, auth):
    alpha, bravo = worlds
    kpi = proposed(session, alpha)
    session.commit()
    credit = credit_of(session, kpi)
    client_email = alpha.user(Role.CLIENT_APPROVER).email
    browser = Browser(app.test_client())
    browser.login(client_email)
    scorecard = f"/scorecards/{alpha.account.id}?period=2025-03"
    earned = "Service credit earned: " + format_money(Decimal("4200"), "USD", "en")
    assert earned not in browser.get(scorecard).text
    assert browser.get(f"/service-credits/{credit.id}").status_code == 404
    approved_before = [alpha["service_credit"].id]  # the factory's, approved
    assert api_items(app, auth, client_email) == approved_before

    session.rollback()  # the requests wrote since this session read: start afresh (SQLite)
    service.approve(session, credit, alpha.account, alpha.user(Role.FINANCE))
    session.commit()
    assert earned in browser.get(scorecard).text
    assert browser.get(f"/service-credits/{credit.id}").status_code == 200
    assert api_items(app, auth, client_email) == approved_before + [credit.id]

    other = Browser(app.test_client())
    other.login(bravo.user(Role.CLIENT_APPROVER).email)
    assert other.get(f"/service-credits/{credit.id}").status_code == 404
    assert api_items(app, auth, bravo.user(Role.FINANCE).email) == [bravo["service_credit"].id]


def api_items(app, auth, email: str) -> list[int]:
    response = app.test_client().get("/api/v1/service-credits", headers=auth(email))
    assert response.status_code == 200
    return [item["id"] for item in response.json["items"]]


def test_the_api_lets_finance_approve_once_and_refuses_the_client(client, session, alpha, auth):
    kpi = proposed(session, alpha)
    session.commit()
    credit = credit_of(session, kpi)
    url = f"/api/v1/service-credits/{credit.id}/approve"
    assert client.post(url, json={}, headers=auth(alpha.user(Role.CLIENT_APPROVER).email)).status_code == 403
    response = client.post(url, json={"amount": "4100", "reason": "Goodwill"},
                           headers=auth(alpha.user(Role.FINANCE).email))
    assert response.status_code == 200, response.text
    body = response.json
    assert (body["status"], body["amount"], body["computed_amount"]) == ("approved", "4100.00", "4200.00")
    assert body["credit_note"]["number"].startswith("SC-")
    again = client.post(url, json={}, headers=auth(alpha.user(Role.FINANCE).email))
    assert again.status_code == 409
    listed = client.get("/api/v1/service-credits?period=2025-03", headers=auth(alpha.user(Role.CLIENT_VIEWER).email))
    assert [item["id"] for item in listed.json["items"]] == [credit.id]  # this month's only


@pytest.mark.parametrize("decision", ["approve", "waive"])
def test_a_credit_is_decided_only_with_a_fresh_sign_in_on_the_page_and_the_api(app, session, alpha, decision):
    """A credit note issued (or a client's credit given up) is a decision: a sign-in of
    more than FRESH_SIGN_IN ago confirms the password first, as for change requests."""
    from portal.security import FRESH_AT
    from tests.conftest import PASSWORD
    from tests.helpers import stale_token

    kpi = proposed(session, alpha)
    session.commit()
    credit = credit_of(session, kpi)
    finance_user = alpha.user(Role.FINANCE)
    body = {"reason": "Agreed at the QBR"}
    url = f"/api/v1/service-credits/{credit.id}/{decision}"
    client = app.test_client()
    stale = client.post(url, json=body, headers=stale_token(session, finance_user))
    assert stale.status_code == 401 and stale.json["error"]["code"] == "fresh_sign_in_required"
    finance = Browser(app.test_client())
    finance.login(finance_user.email)
    with finance.client.session_transaction() as cookie:
        cookie[FRESH_AT] -= app.config["FRESH_SIGN_IN"].total_seconds() + 60
    page = f"/service-credits/{credit.id}"
    asked = finance.post_form(f"{page}/{decision}", {"amount": "4200", **body}, page=page)
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/reauthenticate")
    session.rollback()
    assert credit_of(session, kpi).status is ServiceCreditStatus.PROPOSED
    proved = client.post(url, json={**body, "password": PASSWORD}, headers=stale_token(session, finance_user))
    assert proved.status_code == 200, proved.text


def test_a_proposed_credit_waits_in_finances_inbox_until_decided(session, alpha):
    kpi = proposed(session, alpha)
    credit = credit_of(session, kpi)
    finance = alpha.user(Role.FINANCE)

    def waiting(user) -> list[int]:
        with scoped_to(scope_for(user)):
            return [i.id for i in inbox.items_for(session, user) if i.kind == "service_credit_approval"]

    assert credit.id in waiting(finance)
    assert waiting(alpha.user(Role.CLIENT_APPROVER)) == []
    service.waive(session, credit, finance, reason="Not the firm's fault")
    assert credit.id not in waiting(finance)


def test_the_cli_proposes_a_month(runner, session, alpha):
    kpi = sla_world(session, alpha)
    measure(session, kpi, PERIOD, "90")
    session.commit()
    result = runner.invoke(args=["credits", "propose", "--period", "2025-03"])
    assert result.exit_code == 0, result.output
    assert "1 proposed" in result.output
    session.expire_all()
    assert credit_of(session, kpi).amount == Decimal("4200")
    assert session.scalar(sa.select(sa.func.count(CreditNote.id)).where(CreditNote.invoice_id.is_(None))) == 0


def test_a_standalone_credit_note_is_on_the_statement_and_the_credit_in_the_review_pack(app, session, alpha):
    from portal.billing.documents import statement_input
    from portal.kpis.review_pack import build_input

    kpi = proposed(session, alpha)
    finance = alpha.user(Role.FINANCE)
    pack = build_input(session, alpha.account, PERIOD, finance, ["en"], number="MSR-1")
    assert "service_credits" not in pack  # a proposal is not the client's yet
    note = service.approve(session, credit_of(session, kpi), alpha.account, finance)
    assert note.invoice_id is None
    assert statement_input(session, alpha.account)["credits"] == [
        {"number": note.number, "date": note.issue_date.isoformat(), "currency": "USD", "amount": "4200"}]
    pack = build_input(session, alpha.account, PERIOD, finance, ["en"], number="MSR-1")
    assert pack["service_credits"] == [{"code": "OTP", "name": {"en": "On-time payroll"}, "credit_note": note.number,
                                        "amount": "4200.0000"}]
    session.commit()
    browser = Browser(app.test_client())
    browser.login(alpha.user(Role.CLIENT_VIEWER).email)
    page = browser.get(f"/invoices/statement?account={alpha.account.id}").text
    assert note.number in page and format_money(Decimal("4200"), "USD", "en") in page


def test_the_kpi_names_the_lines_its_credit_covers_and_the_contract_its_caps(session, alpha):
    from portal.kpis.service import KpiDefinition, save_kpi
    from portal.models import AuditEvent

    kpi = sla_world(session, alpha)
    alpha["scope_line"].removed_at = None  # two lines in force: 84,000.00 and 83.33 a month
    contract = alpha["contract"]
    definition = KpiDefinition(code="OTP", name={"en": "On-time payroll"}, unit="%", target=Decimal("99"),
                               direction=KpiDirection.HIGHER, is_sla=True, service_credit_percent=Decimal("5"),
                               credit_scope_line_ids=[alpha["scope_line"].id], credit_caps=(Decimal("10"), None))
    save_kpi(session, contract, alpha.user(Role.ACCOUNT_MANAGER), definition, kpi)
    assert (contract.credit_cap_month_percent, contract.credit_cap_year_percent) == (Decimal("10"), None)
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "contract.credit_caps_changed"))
    measure(session, kpi, PERIOD, "90")
    service.propose(session, PERIOD)
    credit = credit_of(session, kpi)
    assert [line["scope_line_id"] for line in credit.calculation["lines"]] == [alpha["scope_line"].id]
    assert credit.amount == Decimal("4.17")  # 5 % of 83.33
    with pytest.raises(service.DomainError):  # another contract's line
        save_kpi(session, contract, alpha.user(Role.ACCOUNT_MANAGER),
                 KpiDefinition(**{**definition.__dict__, "credit_scope_line_ids": [987654]}), kpi)


def test_finance_decides_on_the_credits_page_and_the_account_manager_only_reads_it(app, session, alpha):
    kpi = proposed(session, alpha)
    session.commit()
    credit = credit_of(session, kpi)
    page = f"/service-credits/{credit.id}"
    manager = Browser(app.test_client())
    manager.login(alpha.user(Role.ACCOUNT_MANAGER).email)
    assert "Approve and issue the credit note" not in manager.get(page).text
    assert manager.post_form(f"{page}/approve", {"amount": "4200"}, page=page).status_code == 403
    finance = Browser(app.test_client())
    finance.login(alpha.user(Role.FINANCE).email)
    assert "4,200.00" in finance.get("/service-credits").text
    refused = finance.post_form(f"{page}/approve", {"amount": "4000"}, page=page, follow_redirects=True)
    assert "Say why the amount differs from the computed one." in refused.text
    done = finance.post_form(f"{page}/approve", {"amount": "4000", "reason": "Agreed at the QBR"}, page=page,
                             follow_redirects=True)
    assert "Approved: credit note SC-" in done.text and "Agreed at the QBR" in done.text
    session.rollback()
    assert credit_of(session, kpi).amount == Decimal("4000")


# --- finance's amount within the contract's caps --------------------------------------------


def _month_cap(session, world) -> tuple[Kpi, Decimal]:
    """6 % of the month's 84,000.00: 5,040.00, of which the computed 4,200.00 takes part."""
    kpi = sla_world(session, world)
    world["contract"].credit_cap_month_percent = Decimal("6")
    measure(session, kpi, PERIOD, "90")
    service.propose(session, PERIOD)
    return kpi, Decimal("5040.00")


def _year_cap(session, world) -> tuple[Kpi, Decimal]:
    """1 % of the ACV: 10,080.00 a contract year, 8,400.00 of it used by January and February."""
    kpi = sla_world(session, world)
    world["contract"].credit_cap_year_percent = Decimal("1")
    for month in (date(2025, 1, 1), date(2025, 2, 1), PERIOD):
        measure(session, kpi, month, "90")
        service.propose(session, month)
    return kpi, Decimal("1680.00")


def _later_month_approved_first(session, world) -> tuple[Kpi, Decimal]:
    """0.5 % of the ACV: 5,040.00 a contract year; April's 840.00 (what March's proposal
    left) is approved before March is decided: it is taken."""
    kpi = sla_world(session, world)
    world["contract"].credit_cap_year_percent = Decimal("0.5")
    april = date(2025, 4, 1)
    for month in (PERIOD, april):
        measure(session, kpi, month, "90")
        service.propose(session, month)
    service.approve(session, credit_of(session, kpi, april), world.account, world.user(Role.FINANCE))
    return kpi, Decimal("4200.00")


@pytest.mark.parametrize("capped", [_month_cap, _year_cap, _later_month_approved_first],
                         ids=["month cap", "contract-year cap", "a later month approved first"])
def test_finance_cannot_credit_more_than_the_contracts_caps_leave(session, alpha, capped):
    kpi, room = capped(session, alpha)
    credit = credit_of(session, kpi)
    finance = alpha.user(Role.FINANCE)
    assert service.cap_room(session, credit) == room
    with pytest.raises(service.DomainError) as refused:
        service.approve(session, credit, alpha.account, finance, amount=room + Decimal("0.01"), reason="Goodwill")
    assert (refused.value.status, refused.value.fields) == (422, {"amount": "above the contract's caps"})
    assert format_money(room, "USD", "en") in str(refused.value.message)
    assert credit.status is ServiceCreditStatus.PROPOSED
    note = service.approve(session, credit, alpha.account, finance, amount=room, reason="Goodwill, up to the cap")
    assert note.amount == room and credit.status is ServiceCreditStatus.APPROVED


def test_an_amount_above_the_caps_is_refused_beside_its_field_and_by_the_api(app, client, session, alpha, auth):
    kpi = sla_world(session, alpha)
    alpha["contract"].credit_cap_month_percent = Decimal("5")  # 4,200.00: exactly the computed credit
    measure(session, kpi, PERIOD, "90")
    service.propose(session, PERIOD)
    session.commit()
    credit = credit_of(session, kpi)
    email = alpha.user(Role.FINANCE).email
    message = f"The contract's caps leave at most {format_money(Decimal('4200'), 'USD', 'en')} for this credit."

    page = f"/service-credits/{credit.id}"
    finance = Browser(app.test_client())
    finance.login(email)
    refused = finance.post_form(f"{page}/approve", {"amount": "4500", "reason": "Goodwill"}, page=page)
    assert refused.status_code == 200
    shown = html.unescape(refused.text)
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="amount"[^>]*value="4500', shown) or \
        re.search(r'<input[^>]*name="amount"[^>]*aria-invalid="true"', shown), "the amount is marked and kept"
    assert message in shown  # flashed, with the room left
    assert '<small class="errors" id="amount-errors">Above what the contract\'s caps leave.</small>' in shown

    answer = client.post(f"{page.replace('/service-credits', '/api/v1/service-credits')}/approve",
                         json={"amount": "4500", "reason": "Goodwill"}, headers=auth(email))
    assert answer.status_code == 422
    assert answer.json["error"]["fields"] == {"amount": "above the contract's caps"}
    assert answer.json["error"]["message"] == message
    session.rollback()
    assert credit_of(session, kpi).status is ServiceCreditStatus.PROPOSED


# --- what a reviewer looks for ----------------------------------------------------------------


def test_each_step_of_a_credits_life_is_an_audit_event_in_order(session, alpha):
    kpi, other = sla_world(session, alpha), second_sla(session, alpha)
    measure(session, kpi, PERIOD, "90")
    measure(session, other, PERIOD, "90")
    before = session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
    finance = alpha.user(Role.FINANCE)
    service.propose(session, PERIOD)
    credit, waived = credit_of(session, kpi), credit_of(session, other)
    service.waive(session, waived, finance, reason="The client's own outage")
    note = service.approve(session, credit, alpha.account, finance, amount=Decimal("4000"), reason="Agreed at the QBR")
    assert note.invoice_id is None  # no invoice yet: set against the next one imported
    _imported(session, alpha, "INV-APRIL", "90000.00")

    events = session.execute(
        sa.select(AuditEvent.action, AuditEvent.object_id, AuditEvent.actor_id, AuditEvent.data)
        .where(AuditEvent.id > before,
               AuditEvent.action.like("service_credit.%") | AuditEvent.action.like("credit_note.%"))
        .order_by(AuditEvent.id)).all()
    assert [(action, object_id) for action, object_id, _actor, _data in events] == [
        ("service_credit.proposed", credit.id), ("service_credit.proposed", waived.id),
        ("service_credit.waived", waived.id),
        ("service_credit.adjusted", credit.id), ("service_credit.approved", credit.id),
        ("credit_note.issued", note.id), ("credit_note.set_against_invoice", note.id)]
    data = {action: d for action, _id, _actor, d in events}
    assert data["service_credit.waived"]["reason"] == "The client's own outage"
    adjusted = data["service_credit.adjusted"]
    assert (Decimal(adjusted["computed"]), Decimal(adjusted["amount"]), adjusted["reason"]) == (
        Decimal("4200"), Decimal("4000"), "Agreed at the QBR")
    assert data["credit_note.issued"]["service_credit"] == credit.id
    assert (data["credit_note.set_against_invoice"]["number"], data["credit_note.set_against_invoice"]["invoice"]) == (
        note.number, "INV-APRIL")
    deciders = {action: actor for action, _id, actor, _data in events}
    assert deciders["service_credit.approved"] == deciders["service_credit.waived"] == finance.id


def test_the_openapi_document_describes_listing_and_approving_service_credits(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    listing = paths["/service-credits"]["get"]
    assert {"account_id", "period"} <= {p["name"] for p in listing["parameters"] if p["in"] == "query"}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ServiceCreditList")
    approving = paths["/service-credits/{credit_id}/approve"]["post"]
    assert [p["name"] for p in approving["parameters"] if p["in"] == "path"] == ["credit_id"]
    assert approving["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/ApproveIn")
    assert {"200", "403", "409", "422"} <= set(approving["responses"])


@pytest.mark.parametrize("language, heading, total", [
    ("zh", "服务抵扣", "服务抵扣合计"),
    ("vi", "Tín dụng dịch vụ", "Tổng tín dụng dịch vụ"),
])
def test_the_review_pack_shows_the_months_service_credits_in_the_accounts_language(session, alpha, language,
                                                                                    heading, total):
    from portal.kpis.review_pack import issue

    alpha.account.document_languages = [language]
    kpi = proposed(session, alpha)
    finance = alpha.user(Role.FINANCE)
    note = service.approve(session, credit_of(session, kpi), alpha.account, finance)
    document = issue(session, alpha.account, PERIOD, finance, [language])
    def plain(text: str) -> str:
        return text.replace(WORD_JOINER, "").replace("\xa0", " ")

    text = plain(full_text(open_docx(document.file.data)))
    assert re.search(rf"^{re.escape(heading)}$", text, re.M), "the section's heading"
    assert not re.search(r"^Service credits$", text, re.M)
    catalog, lang = translations(language), Lang(language, currency="USD")
    rows = text[text.index(heading):].split("\n")
    assert rows[1:3] == [catalog.gettext("KPI"), catalog.gettext("Credit note")]  # the table's head
    assert rows[4:9] == ["OTP On-time payroll", note.number, plain(lang.amount(Decimal("4200"))), total,
                         plain(lang.money(Decimal("4200")))]
