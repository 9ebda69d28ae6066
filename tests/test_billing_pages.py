"""The invoice pages: the list (filters, keyset pages, totals per currency, a constant
number of SQL statements), an invoice, the dispute flow from the client's side and
finance's, the statement of account with its CSV and XLSX exports, the finance
overview (DSO, billed revenue against the ACV, forecast, purchase orders), amounts
in VND, and the pages in Chinese and Vietnamese.

The numbers themselves (ageing, DSO, revenue, POs) are proven in
``test_billing_service``; here they must reach the page. Other accounts' ids answering
404 on every route is proven in ``test_access``."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from portal.billing import service
from portal.extensions import db
from portal.models import (
    Account,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    RequestCategory,
    RequestComment,
    RequestStatus,
    RevenueForecast,
    Role,
    ServiceRequest,
)
from portal.models.base import utcnow
from tests.factories import add_invoice, build_account
from tests.helpers import latest, signed_in, today_of, translations

CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
INVOICE_LINK = re.compile(r'<a href="/invoices/(\d+)">([^<]+)</a>')
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')


def listed(html: str) -> list[str]:
    """Invoice numbers in the order the list shows them."""
    return [number for _id, number in INVOICE_LINK.findall(html)]


# --- the list: a constant number of SQL statements -------------------------------------------


@pytest.fixture
def statements(app):
    """The SQL statements the app's engine runs (not BEGIN), while the test listens."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.strip().upper() != "BEGIN":
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_the_clients_invoice_list_runs_the_same_few_statements_for_5_or_50_invoices(session, alpha, new_browser,
                                                                                  statements):
    browser = signed_in(new_browser, CLIENT)
    browser.get("/invoices")  # the first page after sign-in may touch the session's last_seen_at
    counts = {}
    made = 1  # the factory's invoice
    for shown in (5, 50):
        while made < shown:
            add_invoice(session, alpha, f"INV-N-{made:03d}", lines=3, credit="10.00",
                        issued=today_of(alpha) - timedelta(days=made))
            made += 1
        session.commit()
        statements.clear()
        page = browser.get("/invoices")
        assert page.status_code == 200
        assert len(listed(page.text)) == shown
        counts[shown] = list(statements)
    assert any("FROM invoices" in s for s in counts[50])  # the listener sees the page's statements
    # the signed-in user, the page, the totals, and the header's count of unread notifications
    assert len(counts[5]) == len(counts[50]) <= 4, "\n\n".join(counts[50])


# --- the list: kept rendered, never stale --------------------------------------------------------
# Each worker keeps the list's rendered body under a key that holds the accounts' invoice
# versions, which the database bumps on every write (portal/fragments.py, migration 0008).


def test_the_list_is_read_from_memory_until_something_it_shows_changes(session, alpha, new_browser, statements):
    browser = signed_in(new_browser, CLIENT)
    first = listed(browser.get("/invoices").text)
    statements.clear()
    assert listed(browser.get("/invoices").text) == first
    assert not [s for s in statements if "FROM invoice" in s], "the second reading ran the list's statements again"
    assert browser.get("/invoices?status=paid").status_code == 200
    assert any("FROM invoices" in s for s in statements), "another filter is another body, rendered at once"


def _add_by_core(session, world):
    invoice = world["invoice"]
    session.execute(sa.insert(Invoice), [dict(
        account_id=world.account.id, number="INV-CORE", service_location="GB", period_start=invoice.period_start,
        period_end=invoice.period_end, issue_date=invoice.issue_date, due_date=invoice.due_date, currency="USD",
        subtotal=Decimal("5.00"), tax=Decimal(0), total=Decimal("5.00"), status=InvoiceStatus.ISSUED)])


def _set_po_by_orm(session, world):
    world["invoice"].po_number = "PO-CHANGED"


def _make_overdue_by_core(session, world):
    session.execute(sa.update(Invoice).where(Invoice.id == world["invoice"].id)
                    .values(due_date=today_of(world) - timedelta(days=3), status=InvoiceStatus.ISSUED))


def _delete(session, world):
    session.execute(sa.delete(Invoice).where(Invoice.id == world["invoice"].id))


def _move_to_another_account(session, world):
    beta = build_account(session, "Beta")
    session.execute(sa.update(Invoice).where(Invoice.id == world["invoice"].id).values(account_id=beta.account.id))


@pytest.mark.parametrize(("write", "shows"), [
    (_add_by_core, lambda page, number: "INV-CORE" in listed(page)),
    (_set_po_by_orm, lambda page, number: "<td>PO-CHANGED</td>" in page),
    (_make_overdue_by_core, lambda page, number: listed(page) == [number]),
    (_delete, lambda page, number: number not in listed(page)),
    (_move_to_another_account, lambda page, number: number not in listed(page)),
], ids=["insert", "orm-update", "core-update", "delete", "move"])
def test_the_list_shows_every_write_to_the_invoices_at_once(session, alpha, new_browser, write, shows):
    """Whoever writes (the app, an import, a statement by hand), the next page shows it."""
    number = alpha["invoice"].number
    browser = signed_in(new_browser, CLIENT)
    assert listed(browser.get("/invoices").text) == [number]  # now kept in memory, as is the next one
    assert listed(browser.get("/invoices?status=overdue").text) == []
    write(latest(session), alpha)
    session.commit()
    page = browser.get("/invoices?status=overdue" if write is _make_overdue_by_core else "/invoices").text
    assert shows(page, number)


def test_an_invoice_turns_overdue_in_the_kept_list_when_the_accounts_day_ends(session, alpha, new_browser,
                                                                                monkeypatch):
    due = today_of(alpha)
    add_invoice(session, alpha, "INV-DUE-TODAY", issued=due - timedelta(days=30), due=due)
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert "INV-DUE-TODAY" not in listed(browser.get("/invoices?status=overdue").text)
    tomorrow = datetime.combine(due + timedelta(days=1), time(12), ZoneInfo(alpha.account.timezone))
    monkeypatch.setattr("portal.models.account.utcnow", lambda: tomorrow.astimezone(timezone.utc))
    assert "INV-DUE-TODAY" in listed(browser.get("/invoices?status=overdue").text)


def test_two_accounts_at_the_same_version_each_keep_their_own_list(session, alpha, new_browser):
    beta = build_account(session, "Beta")
    session.commit()
    versions = session.execute(sa.select(Account.invoices_version).where(
        Account.id.in_([alpha.account.id, beta.account.id]))).scalars().all()
    assert len(set(versions)) == 1  # the key must tell them apart by more than the version
    assert listed(signed_in(new_browser, CLIENT).get("/invoices").text) == [alpha["invoice"].number]
    beta_page = signed_in(new_browser, "client.approver@beta.example").get("/invoices").text
    assert listed(beta_page) == [beta["invoice"].number]


def test_the_kept_list_follows_the_account_name_and_the_readers_language(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    assert "<td>Account Alpha</td>" in am.get("/invoices").text
    latest(session)
    alpha.account.name = "Alpha Renamed Holdings"
    session.commit()
    assert "<td>Alpha Renamed Holdings</td>" in am.get("/invoices").text

    client = signed_in(new_browser, CLIENT)
    assert ">Apply filters</button>" in client.get("/invoices").text
    client.post_form("/language", {"language": "zh", "next": "/invoices"})
    chinese = client.get("/invoices").text
    assert f">{translations('zh').gettext('Apply filters')}</button>" in chinese
    assert ">Apply filters</button>" not in chinese


# --- the list: filters ------------------------------------------------------------------------


def test_the_status_filter_shows_overdue_invoices_by_the_accounts_date(session, alpha, new_browser):
    today = today_of(alpha)
    add_invoice(session, alpha, "INV-DUE-TODAY", issued=today - timedelta(days=30), due=today)
    add_invoice(session, alpha, "INV-LATE", issued=today - timedelta(days=40), due=today - timedelta(days=1))
    add_invoice(session, alpha, "INV-PAID-LATE", issued=today - timedelta(days=40), due=today - timedelta(days=10),
                status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "INV-DISPUTED", issued=today - timedelta(days=40), due=today - timedelta(days=10),
                status=InvoiceStatus.DISPUTED)
    add_invoice(session, alpha, "INV-CREDITED", status=InvoiceStatus.CREDITED)
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert listed(browser.get("/invoices?status=overdue").text) == ["INV-LATE"]
    assert listed(browser.get("/invoices?status=paid").text) == ["INV-PAID-LATE"]
    assert listed(browser.get("/invoices?status=disputed").text) == ["INV-DISPUTED"]
    assert listed(browser.get("/invoices?status=credited").text) == ["INV-CREDITED"]
    issued = listed(browser.get("/invoices?status=issued").text)
    assert {"INV-DUE-TODAY", alpha["invoice"].number} <= set(issued)
    assert not {"INV-PAID-LATE", "INV-DISPUTED", "INV-CREDITED"} & set(issued)
    everything = browser.get("/invoices").text
    assert len(listed(everything)) == 6
    late_row = re.search(r'INV-LATE</a>.*?</tr>', everything, re.S).group(0)
    assert "badge-bad" in late_row and "Overdue" in late_row
    due_row = re.search(r'INV-DUE-TODAY</a>.*?</tr>', everything, re.S).group(0)
    assert "Overdue" not in due_row and "Issued" in due_row


def test_the_period_filter_takes_a_month_and_refuses_anything_else(session, alpha, new_browser):
    add_invoice(session, alpha, "INV-MAR", period=date(2026, 3, 31))
    add_invoice(session, alpha, "INV-APR-1", period=date(2026, 4, 1))
    add_invoice(session, alpha, "INV-APR-30", period=date(2026, 4, 30))
    add_invoice(session, alpha, "INV-MAY", period=date(2026, 5, 1))
    add_invoice(session, alpha, "INV-DEC", period=date(2025, 12, 1))
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert sorted(listed(browser.get("/invoices?period=2026-04").text)) == ["INV-APR-1", "INV-APR-30"]
    assert listed(browser.get("/invoices?period=2025-12").text) == ["INV-DEC"]
    bad = browser.get("/invoices?period=April")
    assert bad.status_code == 200 and "Write the period as YYYY-MM." in bad.text
    assert len(listed(bad.text)) == 6  # no period filter rather than a guess


def test_the_location_and_po_filters(session, alpha, new_browser):
    add_invoice(session, alpha, "INV-CN-1", location="CN", po="PO-77")
    add_invoice(session, alpha, "INV-CN-2", location="CN", po="PO-770")
    add_invoice(session, alpha, "INV-VN-1", location="VN", po="PO-77")
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert sorted(listed(browser.get("/invoices?location=cn").text)) == ["INV-CN-1", "INV-CN-2"]
    assert sorted(listed(browser.get("/invoices?po=PO-77").text)) == ["INV-CN-1", "INV-VN-1"]
    assert listed(browser.get("/invoices?po=PO-77&location=VN").text) == ["INV-VN-1"]
    # By the name the list gives it, in the reader's language; a name of no country matches nothing.
    assert listed(browser.get("/invoices?location=Vietnam").text) == ["INV-VN-1"]
    alpha.users[Role.CLIENT_APPROVER].language = "zh"
    session.commit()
    assert sorted(listed(browser.get("/invoices?location=中国").text)) == ["INV-CN-1", "INV-CN-2"]
    assert listed(browser.get("/invoices?location=Atlantis").text) == []


@pytest.mark.parametrize(("language", "name"), [("en", "Hong Kong"), ("zh", "香港"), ("vi", "Hồng Kông")])
def test_hong_kong_goes_by_its_short_name(session, alpha, new_browser, language, name):
    """CLDR's short name, not Babel's "中国香港特别行政区" in a column a few characters wide."""
    add_invoice(session, alpha, "INV-HK-1", location="HK")
    alpha.users[Role.CLIENT_APPROVER].language = language
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert f"<td>{name}</td>" in browser.get("/invoices").text
    assert listed(browser.get(f"/invoices?location={name}").text) == ["INV-HK-1"]


@pytest.mark.parametrize(("query", "expected"), [
    ("%", ["INV-100%"]),
    ("100%", ["INV-100%"]),
    ("_", ["INV_7"]),
    ("V_7", ["INV_7"]),
    ("inv-100", ["INV-100%", "INV-1000"]),
    ("\\", ["INV\\9"]),
    ("x7", ["INVX7"]),
])
def test_the_number_search_takes_wildcards_literally(session, alpha, new_browser, query, expected):
    for number in ("INV-100%", "INV-1000", "INV_7", "INVX7", "INV\\9"):
        add_invoice(session, alpha, number)
    session.commit()
    page = signed_in(new_browser, CLIENT).get("/invoices", query_string={"q": query})
    assert page.status_code == 200
    assert sorted(listed(page.text)) == sorted(expected)


def test_a_client_lists_only_its_own_accounts_invoices(session, alpha, new_browser):
    beta = build_account(session, "Beta")
    session.commit()
    page = signed_in(new_browser, CLIENT).get("/invoices").text
    assert listed(page) == [alpha["invoice"].number]
    assert signed_in(new_browser, CLIENT).get(f"/invoices/{beta['invoice'].id}").status_code == 404


@pytest.mark.parametrize("email", [CLIENT, AM])
def test_the_list_and_its_totals_hold_only_the_callers_accounts(session, alpha, new_browser, email):
    """The list's statements run on the connection, past the ORM's scope listener: they
    add the scope themselves. Another account's invoices, in a currency of their own,
    appear neither in the rows nor in the totals, whatever the filters ask."""
    beta = build_account(session, "Beta", currency="EUR")
    add_invoice(session, beta, "INV-BETA-EUR", currency="EUR", total="999.00")
    session.commit()
    browser = signed_in(new_browser, email)
    for query in ("", f"?account={beta.account.id}", "?q=BETA", "?status=issued", "?location=GB"):
        response = browser.get(f"/invoices{query}")
        assert response.status_code == 200, query
        assert beta["invoice"].number not in response.text and "INV-BETA-EUR" not in response.text, query
        assert "EUR" not in response.text and "€" not in response.text, query
    assert alpha["invoice"].number in browser.get("/invoices").text


def test_the_rows_escape_what_the_database_holds_and_show_the_firm_the_account(session, alpha, new_browser):
    """The rows are written in Python (billing.routes._rows): every text from the
    database is escaped there, and firm users get the account column."""
    alpha.account.name = 'Alpha & <Sons> "Ltd"'
    add_invoice(session, alpha, "INV-<i>-1", po="<script>alert(1)</script>", location="GB")
    session.commit()
    page = signed_in(new_browser, AM).get("/invoices").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert ">INV-&lt;i&gt;-1</a>" in page
    assert "<td>Alpha &amp; &lt;Sons&gt; &quot;Ltd&quot;</td>" in page
    client_page = signed_in(new_browser, CLIENT).get("/invoices").text
    assert "INV-&lt;i&gt;-1" in client_page and "<td>Alpha &amp;" not in client_page, "no account column for a client"


@pytest.mark.parametrize(("language", "message"), [("en", "No invoices match these filters."),
                                                    ("zh", "没有符合筛选条件的发票。")])
def test_a_filter_that_matches_nothing_says_so(session, alpha, new_browser, language, message):
    alpha.users[Role.CLIENT_APPROVER].language = language
    session.commit()
    page = signed_in(new_browser, CLIENT).get("/invoices?q=NOTHING-LIKE-THIS").text
    assert message in page and not listed(page)


@pytest.mark.parametrize(("language", "country"), [("en", "United Kingdom"), ("zh", "英国"), ("vi", "Vương quốc Anh")])
def test_an_invoice_and_the_list_name_its_service_location_in_the_readers_language(session, alpha, new_browser, language, country):
    alpha.users[Role.CLIENT_APPROVER].language = language
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    page = browser.get(f"/invoices/{alpha['invoice'].id}").text
    assert f"<dd>{country}</dd>" in page and "<dd>GB</dd>" not in page
    listed = browser.get("/invoices").text  # the list's column too
    assert f"<td>{country}</td>" in listed and "<td>GB</td>" not in listed


# --- the list: keyset pages and totals ---------------------------------------------------------


def test_the_next_links_walk_every_invoice_once_newest_first(session, alpha, new_browser):
    today = today_of(alpha)
    for n in range(120):  # three a day: ties on the issue date are broken by the id
        add_invoice(session, alpha, f"INV-P-{n:03d}", issued=today - timedelta(days=n // 3 + 1),
                    total="10.00", currency="USD" if n % 4 else "EUR")
    session.commit()
    expected = latest(session).scalars(
        sa.select(Invoice.number).where(Invoice.account_id == alpha.account.id)
        .order_by(Invoice.issue_date.desc(), Invoice.id.desc())).all()
    assert len(expected) == 121

    browser = signed_in(new_browser, CLIENT)
    seen, url, pages = [], "/invoices", 0
    while url:
        page = browser.get(url)
        assert page.status_code == 200
        numbers = listed(page.text)
        assert len(numbers) <= 50
        seen += numbers
        pages += 1
        # Totals are of everything the filters match, not of the page shown.
        assert "91 invoices · USD" in page.text and "$2,100.00" in page.text  # 90 × 10 + the factory's 1,200
        assert "30 invoices · EUR" in page.text and "€300.00" in page.text
        match = NEXT_LINK.search(page.text)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert pages == 3
    assert seen == expected


@pytest.mark.parametrize(("language", "count"), [("en", "1,001 invoices · USD"), ("zh", "1,001 张发票 · USD"),
                                                  ("vi", "1.001 hóa đơn · USD")])
def test_the_totals_count_invoices_in_the_readers_digits(session, alpha, new_browser, language, count):
    invoice = alpha["invoice"]
    session.execute(sa.insert(Invoice), [dict(
        account_id=alpha.account.id, number=f"INV-MANY-{n:04d}", service_location="GB",
        period_start=invoice.period_start, period_end=invoice.period_end, issue_date=invoice.issue_date,
        due_date=invoice.due_date, currency="USD", subtotal=Decimal(1), tax=Decimal(0), total=Decimal(1),
        status=InvoiceStatus.ISSUED) for n in range(1000)])
    alpha.users[Role.CLIENT_APPROVER].language = language
    session.commit()
    assert count in signed_in(new_browser, CLIENT).get("/invoices").text


def test_the_next_link_keeps_the_filters(session, alpha, new_browser):
    today = today_of(alpha)
    for n in range(60):
        add_invoice(session, alpha, f"INV-F-{n:03d}", issued=today - timedelta(days=n + 1),
                    status=InvoiceStatus.PAID if n % 2 else InvoiceStatus.ISSUED)
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    first = browser.get("/invoices?status=paid")
    assert len(listed(first.text)) == 30 and not NEXT_LINK.search(first.text)
    first = browser.get("/invoices?q=INV-F")
    link = NEXT_LINK.search(first.text).group(1).replace("&amp;", "&")
    assert "q=INV-F" in link
    second = listed(browser.get(link).text)
    assert len(second) == 10 and all(n.startswith("INV-F-") for n in second)
    assert not set(second) & set(listed(first.text))


@pytest.mark.parametrize("after", [
    "nonsense", "2026-01-01_x", "2026-02-30_1", "2026-01-01", "_5",
    "2026-01-01_99999999999999999999999",
])
def test_a_tampered_page_key_is_a_bad_request(alpha, new_browser, after):
    response = signed_in(new_browser, CLIENT).get("/invoices", query_string={"after": after})
    assert response.status_code == 400


def test_totals_are_per_currency_and_follow_the_filters(session, alpha, new_browser):
    add_invoice(session, alpha, "INV-EUR-1", currency="EUR", total="100.50", location="DE")
    add_invoice(session, alpha, "INV-EUR-2", currency="EUR", total="200.25", location="DE")
    add_invoice(session, alpha, "INV-CNY-1", currency="CNY", total="1000.00", location="CN")
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    page = browser.get("/invoices").text
    totals = re.search(r'<article class="totals".*?</article>', page, re.S).group(0)
    assert re.findall(r"(\d+ invoices?) · (\w{3})", totals) == [("1 invoice", "CNY"), ("2 invoices", "EUR"),
                                                                ("1 invoice", "USD")]
    assert "CN¥1,000.00" in totals and "€300.75" in totals and "$1,200.00" in totals
    german_page = browser.get("/invoices?location=DE").text
    german = re.search(r'<article class="totals".*?</article>', german_page, re.S).group(0)
    assert re.findall(r"(\d+ invoices?) · (\w{3})", german) == [("2 invoices", "EUR")]


# --- disputes ------------------------------------------------------------------------------------


def dispute_form(reason: str = "The VAT line is doubled.", lines=()) -> dict:
    return {"reason": reason, "lines": [str(i) for i in lines], "submit": "Dispute invoice"}


def settle_form(explanation: str, number: str = "", amount: str = "") -> dict:
    return {"explanation": explanation, "credit_number": number, "credit_amount": amount,
            "submit": "Settle the dispute"}


def enquiries_of(session, invoice) -> list[ServiceRequest]:
    return latest(session).scalars(sa.select(ServiceRequest).where(ServiceRequest.invoice_id == invoice.id)).all()


def status_of(session, invoice) -> InvoiceStatus:
    return latest(session).scalar(sa.select(Invoice.status).where(Invoice.id == invoice.id))


@pytest.fixture
def disputable(session, alpha):
    invoice = add_invoice(session, alpha, "INV-D-1", total="3000.00", lines=3)
    session.commit()
    return invoice


def test_a_client_disputes_an_unpaid_invoice_with_a_reason_and_lines(session, alpha, disputable, new_browser):
    lines = latest(session).scalars(sa.select(InvoiceLine).where(InvoiceLine.invoice_id == disputable.id)
                                    .order_by(InvoiceLine.position)).all()
    browser = signed_in(new_browser, CLIENT)
    url = f"/invoices/{disputable.id}"
    page = browser.get(url).text
    assert f'action="/invoices/{disputable.id}/dispute"' in page
    response = browser.post_form(f"{url}/dispute", dispute_form(lines=[lines[0].id, lines[2].id]), page=url)

    [enquiry] = enquiries_of(session, disputable)
    assert response.status_code == 302 and response.location == f"/requests/{enquiry.id}"
    assert enquiry.category is RequestCategory.BILLING and enquiry.account_id == alpha.account.id
    assert enquiry.created_by_id == alpha.user(Role.CLIENT_APPROVER).id
    assert enquiry.subject == "Dispute of invoice INV-D-1"
    assert enquiry.description.startswith("The VAT line is doubled.")
    assert "Line 0 of INV-D-1" in enquiry.description and "Line 2 of INV-D-1" in enquiry.description
    assert "Line 1 of INV-D-1" not in enquiry.description
    assert status_of(session, disputable) is InvoiceStatus.DISPUTED

    page = browser.get(url).text
    title = re.search(r'<div class="page-title">.*?</div>', page, re.S).group(0)
    assert "Disputed" in title and "badge-warn" in title
    assert f'href="/requests/{enquiry.id}"' in page  # the enquiry is linked from the invoice
    assert f'action="/invoices/{disputable.id}/dispute"' not in page  # disputed once
    row = re.search(r'INV-D-1</a>.*?</tr>', browser.get("/invoices").text, re.S).group(0)
    assert "Disputed" in row
    assert listed(browser.get("/invoices?status=disputed").text) == ["INV-D-1"]


def test_a_client_cannot_dispute_twice_or_without_a_reason(session, alpha, disputable, new_browser):
    browser = signed_in(new_browser, VIEWER)  # a viewer may raise an enquiry too
    url = f"/invoices/{disputable.id}"
    browser.post_form(f"{url}/dispute", dispute_form(reason="  "), page=url)
    assert "Say what is wrong with the invoice." in browser.get(url).text
    assert enquiries_of(session, disputable) == []
    assert browser.post_form(f"{url}/dispute", dispute_form(), page=url).status_code == 302
    again = browser.post_form(f"{url}/dispute", dispute_form(reason="Again"), page=url)
    assert again.location == url
    assert "This invoice is already disputed." in browser.get(url).text
    assert len(enquiries_of(session, disputable)) == 1


def test_a_paid_invoice_cannot_be_disputed(session, alpha, new_browser):
    paid = add_invoice(session, alpha, "INV-PAID", status=InvoiceStatus.PAID)
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    url = f"/invoices/{paid.id}"
    assert "/dispute" not in browser.get(url).text
    response = browser.post_form(f"{url}/dispute", dispute_form(), page=url)
    assert response.status_code == 302 and response.location == url
    assert "Only an unpaid invoice can be disputed." in browser.get(url).text
    assert enquiries_of(session, paid) == []
    assert status_of(session, paid) is InvoiceStatus.PAID


@pytest.mark.parametrize("email", [AM, FINANCE])
def test_the_firm_does_not_dispute(disputable, new_browser, email):
    browser = signed_in(new_browser, email)
    url = f"/invoices/{disputable.id}"
    assert "/dispute" not in browser.get(url).text
    assert browser.post_form(f"{url}/dispute", dispute_form(), page=url).status_code == 403


@pytest.fixture
def disputed(session, alpha, disputable, new_browser):
    client = signed_in(new_browser, CLIENT)
    url = f"/invoices/{disputable.id}"
    assert client.post_form(f"{url}/dispute", dispute_form(), page=url).status_code == 302
    return disputable


@pytest.mark.parametrize(("amount", "expected"), [
    ("3000.00", InvoiceStatus.CREDITED),  # fully credited
    ("300", InvoiceStatus.ISSUED),  # partly: back to what it was
])
def test_finance_settles_a_dispute_with_a_credit_note(session, alpha, disputed, new_browser, amount, expected):
    finance = signed_in(new_browser, FINANCE)
    url = f"/invoices/{disputed.id}"
    page = finance.get(url).text
    assert f'action="/invoices/{disputed.id}/settle"' in page
    # The number as pasted from a document, with an invisible word joiner: stored as it reads.
    finance.post_form(f"{url}/settle", settle_form("Credited: VAT was charged twice.", " CN-\u2060D-1", amount), page=url)

    assert status_of(session, disputed) is expected
    note = session.scalar(sa.select(CreditNote).where(CreditNote.invoice_id == disputed.id))
    assert (note.number, note.amount, note.reason) == ("CN-D-1", Decimal(amount), "Credited: VAT was charged twice.")
    [enquiry] = enquiries_of(session, disputed)
    assert enquiry.status is RequestStatus.RESOLVED
    comments = session.scalars(sa.select(RequestComment.body).where(RequestComment.request_id == enquiry.id)).all()
    assert comments == ["Credited: VAT was charged twice."]
    shown = finance.get(url).text
    assert "CN-D-1" in shown and "The dispute is settled." in shown


def test_finance_settles_a_dispute_with_an_explanation(session, alpha, new_browser):
    today = today_of(alpha)
    overdue = add_invoice(session, alpha, "INV-D-OLD", issued=today - timedelta(days=60),
                          due=today - timedelta(days=30))
    session.commit()
    client = signed_in(new_browser, CLIENT)
    url = f"/invoices/{overdue.id}"
    client.post_form(f"{url}/dispute", dispute_form(), page=url)
    assert status_of(session, overdue) is InvoiceStatus.DISPUTED

    finance = signed_in(new_browser, FINANCE)
    finance.post_form(f"{url}/settle", settle_form("The rate is the one in the MSA, clause 4."), page=url)
    assert status_of(session, overdue) is InvoiceStatus.ISSUED
    assert session.scalar(sa.select(CreditNote).where(CreditNote.invoice_id == overdue.id)) is None
    [enquiry] = enquiries_of(session, overdue)
    assert enquiry.status is RequestStatus.RESOLVED
    assert session.scalars(sa.select(RequestComment.body).where(RequestComment.request_id == enquiry.id)).all() == [
        "The rate is the one in the MSA, clause 4."]
    title = re.search(r'<div class="page-title">.*?</div>', client.get(url).text, re.S).group(0)
    assert "Overdue" in title  # back to issued, and still past its due date
    comment_page = client.get(f"/requests/{enquiry.id}").text
    assert "The rate is the one in the MSA, clause 4." in comment_page


def test_a_credit_beyond_the_invoice_total_leaves_the_dispute_open(session, alpha, disputed, new_browser):
    finance = signed_in(new_browser, FINANCE)
    url = f"/invoices/{disputed.id}"
    finance.post_form(f"{url}/settle", settle_form("Too much", "CN-D-9", "3000.01"), page=url)
    assert "The credit notes would exceed the invoice total." in finance.get(url).text
    finance.post_form(f"{url}/settle", settle_form("No number", "", "10"), page=url)
    assert "Give the credit note a number." in finance.get(url).text
    assert status_of(session, disputed) is InvoiceStatus.DISPUTED
    assert session.scalar(sa.select(CreditNote).where(CreditNote.invoice_id == disputed.id)) is None
    [enquiry] = enquiries_of(session, disputed)
    assert enquiry.status is RequestStatus.OPEN


def test_a_credit_note_number_of_another_account_is_refused(session, alpha, disputed, new_browser):
    session.rollback()  # leave the snapshot read before the dispute: SQLite refuses writes from a stale one
    build_account(session, "Beta")  # its credit note is CN-Beta-0001; finance@alpha does not see Beta
    session.commit()
    finance = signed_in(new_browser, FINANCE)
    url = f"/invoices/{disputed.id}"
    response = finance.post_form(f"{url}/settle", settle_form("Credited.", "CN-Beta-0001", "10"), page=url)
    assert response.status_code == 302
    assert status_of(session, disputed) is InvoiceStatus.DISPUTED


def test_a_credit_note_number_in_use_is_refused(session, alpha, disputed, new_browser):
    finance = signed_in(new_browser, FINANCE)
    url = f"/invoices/{disputed.id}"
    finance.post_form(f"{url}/settle", settle_form("Credited.", "CN-Alpha-0001", "10"), page=url)
    assert "A credit note with this number exists already." in finance.get(url).text
    assert status_of(session, disputed) is InvoiceStatus.DISPUTED


def test_a_client_does_not_settle(disputed, new_browser):
    client = signed_in(new_browser, CLIENT)
    url = f"/invoices/{disputed.id}"
    assert "/settle" not in client.get(url).text
    assert client.post_form(f"{url}/settle", settle_form("Fine."), page=url).status_code == 403


# --- statement of account ------------------------------------------------------------------------


@pytest.fixture
def open_items(session, alpha):
    """The factory's invoice (1,200 less 120 credited, due in 30 days) and one per bucket."""
    today = today_of(alpha)
    for number, days, total, currency in [("INV-S-1", 1, "100.00", "USD"), ("INV-S-31", 31, "200.00", "USD"),
                                          ("INV-S-61", 61, "300.00", "USD"), ("INV-S-91", 91, "400.00", "USD"),
                                          ("INV-S-EUR", 45, "500.00", "EUR")]:
        add_invoice(session, alpha, number, issued=today - timedelta(days=days + 30), due=today - timedelta(days=days),
                    total=total, currency=currency)
    add_invoice(session, alpha, "INV-S-PAID", issued=today - timedelta(days=90), due=today - timedelta(days=60),
                status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "INV-S-CREDITED", issued=today - timedelta(days=90), due=today - timedelta(days=60),
                total="50.00", credit="50.00")  # still issued, but nothing is left to pay
    session.commit()
    return today


def cells(row_html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)]


def test_the_statement_shows_open_items_and_their_ageing_per_currency(alpha, open_items, new_browser):
    page = signed_in(new_browser, CLIENT).get("/invoices/statement")
    assert page.status_code == 200
    usd = re.search(r"<tr><td>USD</td>.*?</tr>", page.text, re.S).group(0)
    eur = re.search(r"<tr><td>EUR</td>.*?</tr>", page.text, re.S).group(0)
    assert cells(usd) == ["USD", "$1,080.00", "$100.00", "$200.00", "$300.00", "$400.00", "$2,080.00"]
    assert cells(eur) == ["EUR", "€0.00", "€0.00", "€500.00", "€0.00", "€0.00", "€500.00"]
    items = re.search(r"Open items.*?</table>", page.text, re.S).group(0)
    assert listed(items) == ["INV-S-91", "INV-S-61", "INV-S-EUR", "INV-S-31", "INV-S-1", alpha["invoice"].number]
    assert "INV-S-PAID" not in page.text and "INV-S-CREDITED" not in page.text
    rows = re.findall(r"<tr><td><a.*?</tr>", items, re.S)
    assert [cells(r)[3:] for r in rows] == [
        ["91", "Over 90 days", "$400.00"], ["61", "61-90 days", "$300.00"], ["45", "31-60 days", "€500.00"],
        ["31", "31-60 days", "$200.00"], ["1", "1-30 days", "$100.00"], ["0", "Not yet due", "$1,080.00"]]


def test_the_firms_statement_leaves_out_an_invoice_held_for_review(session, alpha, open_items, new_browser):
    """The firm sends the statement to the client, who has not been sent a held invoice."""
    held = add_invoice(session, alpha, "INV-S-HELD", issued=open_items - timedelta(days=40),
                       due=open_items - timedelta(days=10), total="700.00")
    held.held_at = utcnow()
    session.commit()
    browser = signed_in(new_browser, FINANCE)
    page = browser.get(f"/invoices/statement?account={alpha.account.id}").text
    assert "INV-S-HELD" not in page and "INV-S-1" in page
    usd = re.search(r"<tr><td>USD</td>.*?</tr>", page, re.S).group(0)
    assert cells(usd)[-1] == "$2,080.00"
    export = browser.get(f"/invoices/statement?account={alpha.account.id}&format=csv").data.decode("utf-8-sig")
    assert "INV-S-HELD" not in export and "INV-S-1" in export


EXPORT_ROWS = [
    ("INV-S-91", "USD", Decimal("400"), 91, "Over 90 days"), ("INV-S-61", "USD", Decimal("300"), 61, "61-90 days"),
    ("INV-S-EUR", "EUR", Decimal("500"), 45, "31-60 days"), ("INV-S-31", "USD", Decimal("200"), 31, "31-60 days"),
    ("INV-S-1", "USD", Decimal("100"), 1, "1-30 days"), ("INV-Alpha-0001", "USD", Decimal("1080"), 0, "Not yet due"),
]


def test_the_statement_downloads_as_csv(alpha, open_items, new_browser):
    response = signed_in(new_browser, CLIENT).get(f"/invoices/statement?account={alpha.account.id}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert f"statement-{alpha.account.id}-{open_items.isoformat()}.csv" in response.headers["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header == ["Invoice", "Issue date", "Due date", "Currency", "Open amount", "Days overdue", "Ageing"]
    assert [(r[0], r[3], Decimal(r[4]), int(r[5]), r[6]) for r in rows] == EXPORT_ROWS
    assert rows[0][2] == (open_items - timedelta(days=91)).isoformat()


def test_the_statement_csv_writes_amounts_with_the_currencys_decimals(alpha, open_items, new_browser):
    response = signed_in(new_browser, CLIENT).get("/invoices/statement?format=csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))[1:]
    assert [r[4] for r in rows] == ["400.00", "300.00", "500.00", "200.00", "100.00", "1080.00"]


def test_the_statement_downloads_as_xlsx(alpha, open_items, new_browser):
    from openpyxl import load_workbook

    response = signed_in(new_browser, FINANCE).get(f"/invoices/statement?account={alpha.account.id}&format=xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header == ["Invoice", "Issue date", "Due date", "Currency", "Open amount", "Days overdue", "Ageing"]
    assert [(r[0], r[3], Decimal(str(r[4])), r[5], r[6]) for r in rows] == EXPORT_ROWS
    assert rows[0][2].date() == open_items - timedelta(days=91)


def test_an_unknown_export_format_is_not_found(alpha, new_browser):
    assert signed_in(new_browser, CLIENT).get("/invoices/statement?format=pdf").status_code == 404


def test_a_client_sees_only_its_own_statement(session, alpha, new_browser):
    beta = build_account(session, "Beta")
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert browser.get(f"/invoices/statement?account={beta.account.id}").status_code == 404
    assert browser.get(f"/invoices/statement?account={beta.account.id}&format=csv").status_code == 404


# --- the firm's finance overview -----------------------------------------------------------------


def money_en(amount, currency: str = "USD") -> str:
    from docgen.formatting import format_money

    return format_money(Decimal(amount), currency, "en")


def forecast_row(html: str, month: date) -> str:
    name = f'name="forecast-{month.isoformat()}"'
    return next(row for row in re.findall(r"<tr><td>.*?</tr>", html, re.S) if name in row)


def test_the_finance_page_shows_dso_with_its_formula(session, alpha, new_browser):
    today = today_of(alpha)
    # The factory's invoice: 1,200 issued today, 120 credited, unpaid. A paid one of 2,400.
    add_invoice(session, alpha, "INV-PAID-10", issued=today - timedelta(days=10), total="2400.00",
                status=InvoiceStatus.PAID)
    session.commit()
    page = signed_in(new_browser, FINANCE).get(f"/accounts/{alpha.account.id}/finance")
    assert page.status_code == 200
    dso = re.search(r"Debtor days \(DSO\)</strong></header>.*?</article>", page.text, re.S).group(0)
    assert '<p class="big">27.0</p>' in dso  # 1,080 ÷ 3,600 × 90
    assert "DSO = receivables ÷ revenue billed in the last 90 days × 90" in dso
    assert "Receivables $1,080.00; billed $3,600.00" in dso


def test_the_finance_page_shows_billed_revenue_against_the_acv_pro_rata(session, alpha, new_browser):
    page = signed_in(new_browser, AM).get(f"/accounts/{alpha.account.id}/finance").text
    ytd = service.revenue_ytd(latest(session), alpha.account, alpha["contract"], today_of(alpha))
    card = re.search(r"Billed revenue this year</strong></header>.*?</article>", page, re.S).group(0)
    assert ytd.billed == Decimal("900.00")  # the factory's 1,000 net less the net part of its 120 credit
    assert f'<p class="big">{money_en(ytd.billed)}</p>' in card
    assert f"<dd>{money_en('120000')}</dd>" in card and f"<dd>{money_en(ytd.expected)}</dd>" in card
    assert money_en(ytd.variance) in card and "badge-bad" in card


def test_the_account_manager_enters_the_forecast_by_month(session, alpha, new_browser):
    today = today_of(alpha)
    this_month, last_month = today.replace(day=1), service.months_back(today, 2)[0]
    am = signed_in(new_browser, AM)
    url = f"/accounts/{alpha.account.id}/finance"
    page = am.get(url).text
    assert f'name="forecast-{this_month.isoformat()}" value="10000.00"' in page  # the factory's forecast
    response = am.post_form(url, {f"forecast-{this_month.isoformat()}": "15,000.50",
                                  f"forecast-{last_month.isoformat()}": "8000", "submit": "Save forecast"}, page=url)
    assert response.status_code == 302
    rows = latest(session).execute(sa.select(RevenueForecast.month, RevenueForecast.amount)
                                   .where(RevenueForecast.account_id == alpha.account.id)
                                   .order_by(RevenueForecast.month)).all()
    assert rows == [(last_month, Decimal("8000")), (this_month, Decimal("15000.50"))]

    page = am.get(url).text
    assert "Forecast saved." in page
    # Forecast against actuals: billed 900 this month (see above) against 15,000.50.
    row = forecast_row(page, this_month)
    assert cells(row)[1] == money_en("900") and cells(row)[3] == money_en("-14100.50")
    assert cells(forecast_row(page, last_month))[3] == money_en("-8000")

    # An empty field clears that month's forecast.
    am.post_form(url, {f"forecast-{this_month.isoformat()}": "15000.50", "submit": "Save forecast"}, page=url)
    assert latest(session).scalars(sa.select(RevenueForecast.month)
                                   .where(RevenueForecast.account_id == alpha.account.id)).all() == [this_month]


NOT_AN_AMOUNT = "A forecast is an amount such as 125000.00."


@pytest.mark.parametrize(("value", "message"), [
    ("lots", NOT_AN_AMOUNT), ("-5", "A forecast cannot be negative."), ("NaN", NOT_AN_AMOUNT),
    ("Infinity", NOT_AN_AMOUNT), ("1e400000", NOT_AN_AMOUNT), ("12345678901234567890", NOT_AN_AMOUNT)])
def test_a_forecast_that_is_not_an_amount_changes_nothing(session, alpha, new_browser, value, message):
    today = today_of(alpha)
    this_month, last_month = today.replace(day=1), service.months_back(today, 2)[0]
    am = signed_in(new_browser, AM)
    url = f"/accounts/{alpha.account.id}/finance"
    response = am.post_form(url, {f"forecast-{last_month.isoformat()}": "500",
                                  f"forecast-{this_month.isoformat()}": value, "submit": "Save forecast"}, page=url)
    assert response.status_code == 200
    assert message in response.text
    assert latest(session).execute(sa.select(RevenueForecast.month, RevenueForecast.amount)
                                   .where(RevenueForecast.account_id == alpha.account.id)).all() == [
        (this_month, Decimal("10000"))]


def test_finance_reads_the_forecast_but_does_not_change_it(session, alpha, new_browser):
    this_month = today_of(alpha).replace(day=1)
    finance = signed_in(new_browser, FINANCE)
    url = f"/accounts/{alpha.account.id}/finance"
    page = finance.get(url).text
    assert "forecast-" not in page and money_en("10000") in forecast_row_by_month(page, this_month)
    finance.post_form(url, {f"forecast-{this_month.isoformat()}": "1", "submit": "Save forecast"}, page=url)
    assert latest(session).scalar(sa.select(RevenueForecast.amount)
                                  .where(RevenueForecast.account_id == alpha.account.id)) == Decimal("10000")


def forecast_row_by_month(html: str, month: date) -> str:
    from babel.dates import format_skeleton

    name = format_skeleton("yMMMM", month, locale="en")
    return re.search(rf"<tr><td>{name}</td>.*?</tr>", html, re.S).group(0)


def test_the_finance_page_shows_what_is_left_on_each_purchase_order(session, alpha, new_browser):
    add_invoice(session, alpha, "INV-PO-2", total="10000.00", po="PO-Alpha", credit="500.00")
    add_invoice(session, alpha, "INV-NO-PO", total="7000.00")
    session.commit()
    page = signed_in(new_browser, FINANCE).get(f"/accounts/{alpha.account.id}/finance").text
    row = re.search(r"<tr><td>PO-Alpha.*?</tr>", page, re.S).group(0)
    # 1,200 − 120 of the factory's invoice and 10,000 − 500 of this one.
    assert cells(row)[2:] == ["$50,000.00", "$10,580.00", "$39,420.00"]


@pytest.mark.parametrize("email", [CLIENT, VIEWER])
def test_the_finance_overview_is_the_firms(alpha, new_browser, email):
    browser = signed_in(new_browser, email)
    assert browser.get(f"/accounts/{alpha.account.id}/finance").status_code == 403
    assert browser.get(f"/accounts/{alpha.account.id}/finance/revenue.svg").status_code == 403


@pytest.mark.parametrize("chart", ["revenue.svg", "dso.svg"])
def test_the_finance_charts_are_svg(alpha, new_browser, chart):
    response = signed_in(new_browser, AM).get(f"/accounts/{alpha.account.id}/finance/{chart}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data[:500]


# --- VND: no decimals ---------------------------------------------------------------------------


def test_vnd_amounts_have_no_decimals_on_the_pages(session, new_browser):
    world = build_account(session, "Alpha", currency="VND")
    big = add_invoice(session, world, "INV-VND-1", total="1250000000", currency="VND", lines=2, po="PO-Alpha")
    session.commit()
    client = signed_in(new_browser, CLIENT)
    pages = {
        "list": client.get("/invoices").text,
        "detail": client.get(f"/invoices/{big.id}").text,
        "statement": client.get("/invoices/statement").text,
        "finance": signed_in(new_browser, FINANCE).get(f"/accounts/{world.account.id}/finance").text,
    }
    assert "₫1,250,000,000" in pages["list"] and "₫1,250,000,000" in pages["detail"]
    assert "₫625,000,000" in pages["detail"]  # a line
    assert "₫1,250,001,080" in pages["statement"]  # with the factory's 1,200 less 120
    assert "₫1,250,001,080" in pages["finance"]  # invoiced on the PO
    for name, html in pages.items():
        assert not re.search(r"₫[\d,]+\.\d", html), name


# --- Chinese and Vietnamese ----------------------------------------------------------------------


@pytest.mark.parametrize(("language", "html_lang", "paid_word"), [("zh", "zh-Hans", "已付款"),
                                                                   ("vi", "vi", "Đã thanh toán")])
def test_the_invoice_pages_render_in_chinese_and_vietnamese(session, alpha, new_browser, language, html_lang,
                                                            paid_word):
    for role in (Role.CLIENT_APPROVER, Role.FINANCE):
        alpha.user(role).language = language
    today = today_of(alpha)
    paid = add_invoice(session, alpha, "INV-L-PAID", status=InvoiceStatus.PAID)
    add_invoice(session, alpha, "INV-L-LATE", issued=today - timedelta(days=140), due=today - timedelta(days=100))
    add_invoice(session, alpha, "INV-L-DISPUTED", status=InvoiceStatus.DISPUTED)
    session.commit()
    catalog = translations(language)

    def status_word(value: str) -> str:
        return f">{catalog.pgettext('invoice status', value)}</span>"

    client = signed_in(new_browser, CLIENT)
    listing = client.get("/invoices")
    assert listing.status_code == 200 and f'<html lang="{html_lang}"' in listing.text
    assert catalog.gettext("Invoices") in listing.text
    for value in ("Paid", "Overdue", "Disputed", "Issued"):
        assert status_word(value) in listing.text, value
    assert f">{paid_word}</span>" in listing.text
    # "Issued" the column is not "Issued" the status: each has its own translation.
    assert catalog.gettext("Issued") != catalog.pgettext("invoice status", "Issued")
    assert f">{catalog.gettext('Issued')}</th>" in listing.text

    detail = client.get(f"/invoices/{paid.id}")
    assert detail.status_code == 200 and status_word("Paid") in detail.text
    assert catalog.gettext("Dispute this invoice") not in detail.text

    statement = client.get("/invoices/statement")
    assert statement.status_code == 200 and f'<html lang="{html_lang}"' in statement.text
    assert catalog.gettext("Statement of account") in statement.text
    assert catalog.gettext("Over 90 days") in statement.text

    finance = signed_in(new_browser, FINANCE).get(f"/accounts/{alpha.account.id}/finance")
    assert finance.status_code == 200 and f'<html lang="{html_lang}"' in finance.text
    assert catalog.gettext("Debtor days (DSO)") in finance.text
