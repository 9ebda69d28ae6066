"""The billing rules without HTTP: overdue by the account's date, ageing buckets at
their boundaries, debtor days on a known data set, billed revenue against the ACV pro
rata, forecasts, what is left on each PO, credit notes and the dispute flow.

Every rule that depends on the date takes it explicitly, so nothing here depends on
the day the tests run."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.billing import service
from portal.models import (
    Account,
    CreditNote,
    Invoice,
    InvoiceStatus,
    InvoiceTotal,
    PurchaseOrder,
    RequestCategory,
    RequestComment,
    RequestStatus,
    RevenueForecast,
    Role,
)
from portal.domain import DomainError
from tests.factories import add_invoice, build_account

UTC = timezone.utc


@pytest.fixture
def alpha(alpha, session):
    """Alpha with the factory's invoice paid, so that only this module's invoices are
    open (the factory's invoice and credit note are issued today, after every fixed
    date used here)."""
    alpha["invoice"].status, alpha["invoice"].paid_on = InvoiceStatus.PAID, alpha["invoice"].issue_date
    session.flush()
    return alpha


def add_credit(session, invoice: Invoice, number: str, amount: str, issued: date) -> CreditNote:
    note = CreditNote(account_id=invoice.account_id, number=number, invoice_id=invoice.id, issue_date=issued,
                      currency=invoice.currency, amount=Decimal(amount), reason="Correction")
    session.add(note)
    session.flush()
    session.refresh(invoice)
    return note


# --- overdue is the account's date ---------------------------------------------------------------


@pytest.mark.parametrize(("timezone_name", "local_date", "overdue"), [
    ("Asia/Shanghai", date(2026, 11, 26), True),  # 01:00 on the 26th: the due date has passed
    ("Asia/Ho_Chi_Minh", date(2026, 11, 26), True),  # 00:00 on the 26th
    ("UTC", date(2026, 11, 25), False),
    ("America/New_York", date(2026, 11, 25), False),  # 12:00 on the 25th: still the due date
])
def test_an_invoice_is_overdue_from_the_day_after_its_due_date_in_the_accounts_time_zone(
        session, alpha, timezone_name, local_date, overdue):
    alpha.account.timezone = timezone_name
    invoice = add_invoice(session, alpha, "INV-TZ", issued=date(2026, 10, 26), due=date(2026, 11, 25))
    now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    today = alpha.account.today(now)
    assert today == local_date
    assert service.is_overdue(invoice, today) is overdue
    assert service.shown_status(invoice, today) == ("overdue" if overdue else "issued")


@pytest.mark.parametrize(("status", "shown", "overdue"), [
    (InvoiceStatus.ISSUED, "overdue", True),
    (InvoiceStatus.DISPUTED, "disputed", True),  # still unpaid, but it shows the dispute
    (InvoiceStatus.PAID, "paid", False),
    (InvoiceStatus.CREDITED, "credited", False),
])
def test_only_an_unpaid_invoice_is_overdue(session, alpha, status, shown, overdue):
    invoice = add_invoice(session, alpha, "INV-S", issued=date(2026, 1, 1), due=date(2026, 1, 31), status=status)
    assert service.is_overdue(invoice, date(2026, 3, 1)) is overdue
    assert service.shown_status(invoice, date(2026, 3, 1)) == shown
    assert service.shown_status(invoice, date(2026, 1, 31)) == status.value  # on its due date


# --- totals kept by the database ----------------------------------------------------------------


def summed(session) -> dict[tuple[int, str, str], tuple[int, Decimal]]:
    """What ``invoice_totals`` must say: the invoices counted and summed now."""
    rows = session.execute(sa.select(Invoice.account_id, Invoice.currency, Invoice.status, sa.func.count(),
                                     sa.func.sum(Invoice.total))
                           .group_by(Invoice.account_id, Invoice.currency, Invoice.status))
    return {(a, c, s.value): (n, t) for a, c, s, n, t in rows}


def kept(session) -> dict[tuple[int, str, str], tuple[int, Decimal]]:
    rows = session.execute(sa.select(InvoiceTotal).where(InvoiceTotal.invoices != 0)).scalars()
    return {(r.account_id, r.currency, r.status.value): (r.invoices, r.total) for r in rows}


def test_invoice_totals_follow_every_kind_of_write(session, alpha):
    beta = build_account(session, "Beta")
    one = add_invoice(session, alpha, "T-1", issued=date(2026, 1, 5), total="100.10")
    add_invoice(session, alpha, "T-2", issued=date(2026, 2, 5), total="0.05", currency="EUR")
    assert kept(session) == summed(session)
    assert kept(session)[(alpha.account.id, "EUR", "issued")] == (1, Decimal("0.05"))

    one.status, one.total = InvoiceStatus.PAID, Decimal("99.99")  # an ORM update of two counted columns
    session.flush()
    assert kept(session) == summed(session)
    assert (alpha.account.id, "USD", "paid") in kept(session)

    # Core statements, as the import, the API and COPY write: many rows at once.
    session.execute(sa.insert(Invoice), [
        dict(account_id=beta.account.id, number=f"B-{n}", service_location="VN", period_start=date(2026, 3, 1),
             period_end=date(2026, 3, 31), issue_date=date(2026, 3, 31), due_date=date(2026, 4, 30), currency="VND",
             subtotal=Decimal(1_000_000 * n), tax=Decimal(0), total=Decimal(1_000_000 * n),
             status=InvoiceStatus.ISSUED) for n in range(1, 6)])
    session.execute(sa.update(Invoice).where(Invoice.number.in_(["B-1", "B-2"])).values(status=InvoiceStatus.DISPUTED))
    assert kept(session)[(beta.account.id, "VND", "disputed")] == (2, Decimal(3_000_000))
    session.execute(sa.update(Invoice).where(Invoice.number == "T-2").values(account_id=beta.account.id))
    session.execute(sa.delete(Invoice).where(Invoice.number.in_(["B-3", "T-1"])))
    assert kept(session) == summed(session)
    assert kept(session)[(beta.account.id, "VND", "issued")] == (2, Decimal(9_000_000))
    assert (alpha.account.id, "EUR", "issued") not in kept(session)


def test_every_write_to_an_accounts_invoices_bumps_its_version_and_no_other(session, alpha):
    """The invoice list's cached body is keyed by ``accounts.invoices_version``
    (migration 0008): every kind of write must bump it, for the accounts written only."""
    beta, gamma = build_account(session, "Beta"), build_account(session, "Gamma")
    session.flush()

    def versions():
        rows = session.execute(sa.select(Account.id, Account.invoices_version))
        return {ident: version for ident, version in rows}

    def bumped(write) -> set[int]:
        before = versions()
        write()
        session.flush()
        after = versions()
        assert all(after[a] >= before[a] for a in before)
        return {a for a in before if after[a] != before[a]}

    one = add_invoice(session, alpha, "V-1", issued=date(2026, 1, 5))
    assert bumped(lambda: add_invoice(session, alpha, "V-2", issued=date(2026, 2, 5))) == {alpha.account.id}
    assert bumped(lambda: setattr(one, "po_number", "PO-V")) == {alpha.account.id}  # a column no total counts
    assert bumped(lambda: session.execute(sa.insert(Invoice), [
        dict(account_id=account_id, number=f"V-B-{account_id}", service_location="VN", period_start=date(2026, 3, 1),
             period_end=date(2026, 3, 31), issue_date=date(2026, 3, 31), due_date=date(2026, 4, 30), currency="VND",
             subtotal=Decimal(1000), tax=Decimal(0), total=Decimal(1000), status=InvoiceStatus.ISSUED)
        for account_id in (beta.account.id, gamma.account.id)])) == {beta.account.id, gamma.account.id}
    assert bumped(lambda: session.execute(
        sa.update(Invoice).where(Invoice.number == f"V-B-{beta.account.id}").values(due_date=date(2026, 5, 1)))
    ) == {beta.account.id}
    assert bumped(lambda: session.execute(
        sa.update(Invoice).where(Invoice.number == "V-2").values(account_id=gamma.account.id))
    ) == {alpha.account.id, gamma.account.id}
    assert bumped(lambda: session.execute(sa.delete(Invoice).where(Invoice.number == "V-1"))) == {alpha.account.id}
    assert bumped(lambda: session.execute(
        sa.update(Invoice).where(Invoice.number == "NO-SUCH").values(po_number="X"))) == set()


@pytest.mark.parametrize("status", [None, "issued", "paid", "disputed", "overdue", "nonsense"])
def test_list_totals_from_the_kept_sums_equal_the_invoices_summed(session, alpha, status):
    add_invoice(session, alpha, "S-1", issued=date(2026, 1, 5), total="10.00")
    add_invoice(session, alpha, "S-2", issued=date(2026, 1, 6), total="2.50", status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "S-3", issued=date(2026, 1, 7), total="1000", currency="VND",
                status=InvoiceStatus.DISPUTED)
    todays = {alpha.account.id: date(2026, 11, 26)}
    kept_filters = service.InvoiceFilters(status=status, account_id=alpha.account.id)
    # A part of the invoice number that every invoice of the account has forces the summing path.
    summed_filters = service.InvoiceFilters(status=status, account_id=alpha.account.id, number="-")
    assert kept_filters.summarised is (status != "overdue") and not summed_filters.summarised
    totals = service.totals_by_currency(session, kept_filters, todays)
    assert totals == service.totals_by_currency(session, summed_filters, todays)
    assert totals  # every status here matches an invoice of this account


# --- ageing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_past_due", "expected"), [
    (-10, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"),
    (90, "61-90"), (91, "90+"), (400, "90+"),
])
def test_ageing_buckets_at_their_boundaries(days_past_due, expected):
    assert service.bucket(days_past_due) == expected


def test_the_statement_ages_each_open_invoice_per_currency(session, alpha):
    today = date(2026, 6, 30)
    amounts = {}
    for days in (-10, 0, 1, 30, 31, 60, 61, 90, 91):
        for currency, scale in (("USD", 1), ("EUR", 1000)):
            amount = Decimal(abs(days) + 1) * scale
            add_invoice(session, alpha, f"INV-{currency}-{days}", issued=today - timedelta(days=days + 30),
                        due=today - timedelta(days=days), total=str(amount), currency=currency)
            amounts[currency, days] = amount
    partly = add_invoice(session, alpha, "INV-USD-PART", issued=date(2026, 4, 1), due=date(2026, 5, 1), total="500")
    add_credit(session, partly, "CN-PART", "200", date(2026, 5, 2))  # 60 days past due, 300 open
    gone = add_invoice(session, alpha, "INV-USD-GONE", issued=date(2026, 4, 1), due=date(2026, 5, 1), total="500")
    add_credit(session, gone, "CN-GONE", "500", date(2026, 5, 2))  # fully credited: nothing open
    add_invoice(session, alpha, "INV-USD-PAID", issued=date(2026, 1, 1), due=date(2026, 1, 31),
                status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "INV-USD-DISPUTED", issued=date(2026, 1, 1), due=date(2026, 1, 31), total="7",
                status=InvoiceStatus.DISPUTED)  # 150 days past due

    result = service.statement(session, alpha.account, today)

    def expected(currency: str) -> dict[str, Decimal]:
        buckets = {b: Decimal(0) for b in service.BUCKETS}
        for (c, days), amount in amounts.items():
            if c == currency:
                buckets[service.bucket(days)] += amount
        return buckets

    usd = expected("USD")
    usd["31-60"] += 300
    usd["90+"] += 7
    assert result.currencies == ["EUR", "USD"]
    assert result.ageing == {"EUR": expected("EUR"), "USD": usd}
    assert usd == {"current": Decimal(11 + 1), "1-30": Decimal(2 + 31), "31-60": Decimal(32 + 61 + 300),
                   "61-90": Decimal(62 + 91), "90+": Decimal(92 + 7)}
    shown = {invoice.number: (amount, name, days) for invoice, amount, name, days in result.items}
    assert "INV-USD-GONE" not in shown and "INV-USD-PAID" not in shown
    assert shown["INV-USD-PART"] == (Decimal(300), "31-60", 60)
    assert shown["INV-USD--10"] == (Decimal(11), "current", 0)  # not yet due: no days overdue
    assert shown["INV-EUR-91"] == (Decimal(92000), "90+", 91)
    assert [i.due_date for i, *_ in result.items] == sorted(i.due_date for i, *_ in result.items)


# --- debtor days ---------------------------------------------------------------------------------

ON = date(2025, 9, 30)


@pytest.fixture
def receivables(session, alpha):
    """Billed 90,000 in the 90 days to 30 September 2025, 30,000 of it still open.

    A: issued 12 Jul, paid 11 Aug. B: issued 11 Aug, paid 20 Sep. C: issued 10 Sep,
    open. D: 50,000 issued 2 Jul (90 days before: outside the window), paid 1 Aug."""
    return {
        "A": add_invoice(session, alpha, "INV-A", issued=ON - timedelta(days=80), total="30000",
                         status=InvoiceStatus.PAID, paid_on=ON - timedelta(days=50)),
        "B": add_invoice(session, alpha, "INV-B", issued=ON - timedelta(days=50), total="30000",
                         status=InvoiceStatus.PAID, paid_on=ON - timedelta(days=10)),
        "C": add_invoice(session, alpha, "INV-C", issued=ON - timedelta(days=20), total="30000"),
        "D": add_invoice(session, alpha, "INV-D", issued=ON - timedelta(days=90), total="50000",
                         status=InvoiceStatus.PAID, paid_on=ON - timedelta(days=60)),
    }


def test_dso_is_receivables_over_revenue_billed_in_the_last_90_days_times_90(session, alpha, receivables):
    dso = service.dso(session, alpha.account, "USD", ON)
    assert (dso.receivables, dso.billed, dso.days) == (Decimal(30000), Decimal(90000), 90)
    assert dso.value == Decimal("30.0")


def test_credit_notes_reduce_the_receivables_from_the_day_they_are_issued(session, alpha, receivables):
    add_credit(session, receivables["C"], "CN-C-1", "3000", ON - timedelta(days=5))
    add_credit(session, receivables["C"], "CN-C-2", "6000", ON + timedelta(days=1))  # not yet on the day
    dso = service.dso(session, alpha.account, "USD", ON)
    assert dso.receivables == Decimal(27000) and dso.value == Decimal("27.0")


def test_paid_and_credited_invoices_are_not_receivable(session, alpha, receivables):
    add_invoice(session, alpha, "INV-E", issued=ON - timedelta(days=30), total="45000", status=InvoiceStatus.CREDITED)
    dso = service.dso(session, alpha.account, "USD", ON)
    assert dso.receivables == Decimal(30000)
    assert dso.billed == Decimal(135000)  # billed is billed, credited later or not
    assert dso.value == Decimal("20.0")


def test_dso_on_an_earlier_day_counts_the_invoices_unpaid_then(session, alpha, receivables):
    earlier = ON - timedelta(days=15)  # 15 September: B is not paid yet, D is inside the window
    dso = service.dso(session, alpha.account, "USD", earlier)
    assert (dso.receivables, dso.billed) == (Decimal(60000), Decimal(140000))
    assert dso.value == Decimal("38.6")  # 60,000 ÷ 140,000 × 90 = 38.57


def test_an_amount_in_another_currency_counts_in_no_dso_of_the_contracts(session, alpha, receivables):
    """A local office's invoice in VND is neither receivable nor billed in USD: no figure
    adds currencies. In VND it is the whole of both."""
    add_invoice(session, alpha, "INV-VN", issued=ON - timedelta(days=20), total="700000000", currency="VND",
                location="VN")
    dso = service.dso(session, alpha.account, "USD", ON)
    assert (dso.receivables, dso.billed, dso.value) == (Decimal(30000), Decimal(90000), Decimal("30.0"))
    vnd = service.dso(session, alpha.account, "VND", ON)
    assert (vnd.receivables, vnd.billed, vnd.value) == (Decimal(700000000), Decimal(700000000), Decimal("90.0"))


def test_without_revenue_billed_there_is_no_dso(session, alpha):
    assert service.dso(session, alpha.account, "USD", ON).value is None


# --- billed revenue against the ACV ------------------------------------------------------------


@pytest.mark.parametrize(("today", "expected"), [
    (date(2025, 1, 1), "328.77"),  # 1 of 365 days of 120,000
    (date(2025, 3, 31), "29589.04"),  # 90 of 365 days
    (date(2024, 12, 31), "120000.00"),  # 366 of 366 days: a leap year
])
def test_the_acv_to_date_is_pro_rata_to_the_days_of_the_year(session, alpha, today, expected):
    alpha["contract"].start_date, alpha["contract"].end_date = date(2023, 1, 1), date(2027, 12, 31)
    ytd = service.revenue_ytd(session, alpha.account, alpha["contract"], today)
    assert ytd.acv == Decimal("120000") and ytd.expected == Decimal(expected)


@pytest.mark.parametrize(("start", "end", "today", "expected"), [
    # Started on 1 July: 31 of 365 days in force by 31 July, not 212.
    (date(2026, 7, 1), date(2027, 6, 30), date(2026, 7, 31), "10191.78"),
    # Started the year before: from 1 January (90 days by 31 March).
    (date(2025, 7, 1), date(2026, 6, 30), date(2026, 3, 31), "29589.04"),
    # Ended on 31 March: 90 days of the year, however late in it.
    (date(2025, 4, 1), date(2026, 3, 31), date(2026, 9, 30), "29589.04"),
    (date(2026, 10, 1), date(2027, 9, 30), date(2026, 9, 30), "0.00"),  # not yet in force
])
def test_the_acv_to_date_counts_only_the_days_the_contract_is_in_force(session, alpha, start, end, today,
                                                                       expected):
    """A contract that started mid-year was expected to have billed from its start, not
    from 1 January (the portfolio raised "revenue under 90 % of the ACV" on it)."""
    alpha["contract"].start_date, alpha["contract"].end_date = start, end
    ytd = service.revenue_ytd(session, alpha.account, alpha["contract"], today)
    assert ytd.expected == Decimal(expected)


def test_billed_revenue_this_year_is_net_of_tax_and_credit_notes(session, alpha):
    alpha["contract"].start_date, alpha["contract"].end_date = date(2023, 1, 1), date(2027, 12, 31)
    add_invoice(session, alpha, "INV-Y-JAN", issued=date(2025, 1, 15), total="12000", subtotal="10000")
    feb = add_invoice(session, alpha, "INV-Y-FEB", issued=date(2025, 2, 15), total="12000", subtotal="10000")
    add_credit(session, feb, "CN-Y-FEB", "1200", date(2025, 3, 1))  # 1,000 of revenue and 200 of tax
    add_invoice(session, alpha, "INV-Y-LAST-YEAR", issued=date(2024, 12, 15), total="12000", subtotal="10000")
    add_invoice(session, alpha, "INV-Y-LATER", issued=date(2025, 4, 15), total="12000", subtotal="10000")
    # The Vietnamese office's, in VND: not revenue against a USD contract's ACV.
    add_invoice(session, alpha, "INV-Y-VN", issued=date(2025, 2, 20), total="24000000", subtotal="20000000",
                currency="VND", location="VN")
    ytd = service.revenue_ytd(session, alpha.account, alpha["contract"], date(2025, 3, 31))
    assert ytd.billed == Decimal("19000.00")
    assert ytd.variance == Decimal("19000.00") - Decimal("29589.04")
    by_month = service.billed_by_month(session, alpha.account, service.months_back(date(2025, 3, 31), 3), "USD")
    assert by_month == {date(2025, 1, 1): Decimal(10000), date(2025, 2, 1): Decimal(10000),
                        date(2025, 3, 1): Decimal(-1000)}


def test_months_back_counts_across_the_year_end():
    assert service.months_back(date(2026, 2, 17), 4) == [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1),
                                                          date(2026, 2, 1)]


# --- forecast ------------------------------------------------------------------------------------


def test_a_forecast_is_entered_changed_and_cleared_by_month(session, alpha):
    am = alpha.user(Role.ACCOUNT_MANAGER)
    months = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]
    service.set_forecast(session, alpha.account, am, date(2025, 1, 20), Decimal("9000"), "USD")
    service.set_forecast(session, alpha.account, am, date(2025, 2, 1), Decimal("9500"), "USD")
    service.set_forecast(session, alpha.account, am, date(2025, 2, 1), Decimal("9600"), "USD")
    assert service.forecasts(session, alpha.account, months) == {
        date(2025, 1, 1): Decimal(9000), date(2025, 2, 1): Decimal(9600), date(2025, 3, 1): None}
    row = session.scalar(sa.select(RevenueForecast).where(RevenueForecast.month == date(2025, 2, 1)))
    assert row.updated_by_id == am.id and row.currency == "USD"
    service.set_forecast(session, alpha.account, am, date(2025, 1, 1), None, "USD")
    session.flush()
    assert service.forecasts(session, alpha.account, months)[date(2025, 1, 1)] is None
    with pytest.raises(DomainError) as refused:
        service.set_forecast(session, alpha.account, am, date(2025, 3, 1), Decimal("-1"), "USD")
    assert refused.value.status == 422


# --- purchase orders ------------------------------------------------------------------------------


def test_a_po_shows_what_was_invoiced_against_it_net_of_credit_notes(session, alpha):
    beta = build_account(session, "Beta")
    second = add_invoice(session, alpha, "INV-PO-2", issued=date(2026, 1, 10), total="10000", po="PO-Alpha")
    add_credit(session, second, "CN-PO-2", "500", date(2026, 1, 20))
    add_invoice(session, alpha, "INV-PO-PAID", issued=date(2026, 2, 10), total="4000", po="PO-Alpha",
                status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "INV-NO-PO", issued=date(2026, 1, 10), total="7000")
    add_invoice(session, beta, "INV-BETA-SAME-PO", issued=date(2026, 1, 10), total="9999", po="PO-Alpha")
    small = PurchaseOrder(account_id=alpha.account.id, number="PO-SMALL", currency="USD", amount=Decimal("1000"),
                          issued_on=date(2026, 1, 1))
    session.add(small)
    session.flush()
    add_invoice(session, alpha, "INV-OVER", issued=date(2026, 1, 10), total="1500", po="PO-SMALL")

    balances = {b.order.number: b for b in service.purchase_orders(session, alpha.account)}
    assert set(balances) == {"PO-Alpha", "PO-SMALL"}
    # The factory's 1,200 less its 120 credit, 10,000 less 500, and 4,000 paid.
    assert balances["PO-Alpha"].invoiced == Decimal("14580")
    assert balances["PO-Alpha"].remaining == Decimal("35420")
    assert balances["PO-SMALL"].remaining == Decimal("-500")  # drawn beyond the PO


# --- credit notes ---------------------------------------------------------------------------------


def test_an_invoice_is_credited_once_credit_notes_reach_its_total(session, alpha):
    finance = alpha.user(Role.FINANCE)
    invoice = add_invoice(session, alpha, "INV-CN", issued=date(2026, 1, 1), total="1000")
    service.issue_credit_note(session, invoice, finance, number="CN-1", amount=Decimal("400"), reason="Part",
                              issue_date=date(2026, 1, 5))
    assert invoice.status is InvoiceStatus.ISSUED and service.outstanding(invoice) == Decimal(600)
    for number, amount, status in [("CN-2", "0", 422), ("CN-3", "600.01", 422), ("CN-1", "1", 422)]:
        with pytest.raises(DomainError) as refused:
            service.issue_credit_note(session, invoice, finance, number=number, amount=Decimal(amount), reason="x",
                                      issue_date=date(2026, 1, 5))
        assert refused.value.status == status
    service.issue_credit_note(session, invoice, finance, number="CN-4", amount=Decimal("600"), reason="Rest",
                              issue_date=date(2026, 1, 6))
    assert invoice.status is InvoiceStatus.CREDITED and service.outstanding(invoice) == 0


def test_a_vnd_credit_note_is_rounded_to_whole_dong(session, alpha):
    invoice = add_invoice(session, alpha, "INV-VND", issued=date(2026, 1, 1), total="1250000000", currency="VND")
    note = service.issue_credit_note(session, invoice, alpha.user(Role.FINANCE), number="CN-VND",
                                     amount=Decimal("1000.40"), reason="Rounding", issue_date=date(2026, 1, 2))
    assert note.amount == Decimal("1000")


# --- disputes ------------------------------------------------------------------------------------


def test_a_dispute_raises_a_billing_enquiry_on_the_invoice(session, alpha):
    client = alpha.user(Role.CLIENT_APPROVER)
    invoice = add_invoice(session, alpha, "INV-DSP", issued=date(2026, 1, 1), total="300",
                          lines=[("Payroll", 2, "50"), ("VAT filing", 2, "100")])
    vat = invoice.lines[1]
    enquiry = service.dispute(session, invoice, alpha.account, client, reason="  VAT filing was not done.  ",
                              disputed_lines=[vat.id])
    assert enquiry.category is RequestCategory.BILLING and enquiry.invoice_id == invoice.id
    assert enquiry.account_id == alpha.account.id and enquiry.status is RequestStatus.OPEN
    assert enquiry.description == "VAT filing was not done.\n\n- VAT filing: 2 × 100"
    assert invoice.status is InvoiceStatus.DISPUTED and invoice.status_before_dispute is InvoiceStatus.ISSUED
    with pytest.raises(DomainError) as twice:
        service.dispute(session, invoice, alpha.account, client, reason="Again")
    assert twice.value.status == 409


@pytest.mark.parametrize(("status", "reason", "code"), [
    (InvoiceStatus.PAID, "Wrong", 409),
    (InvoiceStatus.CREDITED, "Wrong", 409),
    (InvoiceStatus.ISSUED, "   ", 422),
])
def test_only_an_unpaid_invoice_with_a_reason_can_be_disputed(session, alpha, status, reason, code):
    invoice = add_invoice(session, alpha, "INV-NO", issued=date(2026, 1, 1), status=status)
    with pytest.raises(DomainError) as refused:
        service.dispute(session, invoice, alpha.account, alpha.user(Role.CLIENT_APPROVER), reason=reason)
    assert refused.value.status == code
    assert invoice.status is status


@pytest.mark.parametrize(("credit", "expected"), [
    (None, InvoiceStatus.ISSUED),
    (("CN-S", Decimal("100")), InvoiceStatus.ISSUED),
    (("CN-S", Decimal("300")), InvoiceStatus.CREDITED),
])
def test_settling_a_dispute_resolves_the_enquiry_with_the_explanation(session, alpha, credit, expected):
    invoice = add_invoice(session, alpha, "INV-SET", issued=date(2026, 1, 1), total="300")
    enquiry = service.dispute(session, invoice, alpha.account, alpha.user(Role.CLIENT_APPROVER), reason="Too much")
    service.settle_dispute(session, invoice, alpha.account, alpha.user(Role.FINANCE),
                           explanation="As agreed on the call.", credit=credit)
    assert invoice.status is expected and invoice.status_before_dispute is None
    assert enquiry.status is RequestStatus.RESOLVED
    bodies = session.scalars(sa.select(RequestComment.body).where(RequestComment.request_id == enquiry.id)).all()
    assert bodies == ["As agreed on the call."]
    with pytest.raises(DomainError) as again:
        service.settle_dispute(session, invoice, alpha.account, alpha.user(Role.FINANCE), explanation="Again")
    assert again.value.status == 409
