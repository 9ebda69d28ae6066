"""The portfolio: figures against hand-computed ones on a fixed set of two accounts,
one in USD and one in CNY, as of 30 June 2026 (the portfolio of June, read on 15 July)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.admin.service import assign
from portal.models import (
    ActionItem,
    Contract,
    Feedback,
    InvoiceStatus,
    Job,
    JobStatus,
    Kpi,
    KpiDirection,
    KpiMeasurement,
    Plan,
    Role,
    ServiceLocation,
    ServiceRequest,
    User,
)
from portal.models.account import Tier
from portal.models.action import ActionSource, ActionStatus
from portal.models.contract import Priority
from portal.models.plan import PlanStatus, PlanType
from portal.models.request import RequestCategory, RequestStatus
from portal.portfolio import service
from tests.factories import AccountWorld, add_invoice, make_account, make_user

JUNE = date(2026, 6, 1)
NOW = datetime(2026, 7, 15, 9, tzinfo=timezone.utc)


def _utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def _world(session, name, currency, country, tz, tier, acv, end, location, kpis, number=None) -> AccountWorld:
    account = make_account(session, name, currency=currency, country=country, tz=tz)
    account.tier = tier
    contract = Contract(account_id=account.id, number=number or f"MSA-{currency}", title={"en": name}, start_date=date(2026, 1, 1),
                        end_date=end, signed_on=date(2025, 12, 1), currency=currency, annual_value=Decimal(acv))
    session.add(contract)
    session.flush()
    session.add(ServiceLocation(account_id=account.id, contract_id=contract.id, country=location))
    world = AccountWorld(account, objects={"contract": contract})
    for code, target, direction, actuals in kpis:
        kpi = Kpi(account_id=account.id, contract=contract, code=code, name={"en": code}, unit="%",
                  target=Decimal(target), direction=direction)
        session.add(kpi)
        session.flush()
        for period, actual in actuals.items():
            session.add(KpiMeasurement(account_id=account.id, kpi_id=kpi.id, period=period, actual=Decimal(actual)))
    session.flush()
    return world


@pytest.fixture
def book(session):
    """Acme (USD): K1 red in May and June, K2 green; 20,000 overdue; ratings 2 and 3 in
    June, 4 in May. Huanan (CNY): K1 green; nothing overdue; a 5 in June."""
    acme = _world(session, "Acme", "USD", "GB", "UTC", Tier.KEY, "120000", date(2026, 8, 31), "GB",
                  [("K1", "99", KpiDirection.HIGHER, {date(2026, 5, 1): "90", JUNE: "90"}),
                   ("K2", "10", KpiDirection.LOWER, {JUNE: "8"})])
    huanan = _world(session, "Huanan", "CNY", "CN", "Asia/Shanghai", Tier.STRATEGIC, "365000", date(2027, 12, 31), "VN",
                    [("K1", "99", KpiDirection.HIGHER, {JUNE: "99.5"})])
    add_invoice(session, acme, "A-3", issued=date(2026, 3, 1), total="5000", status=InvoiceStatus.PAID,
                paid_on=date(2026, 4, 10))
    add_invoice(session, acme, "A-5", issued=date(2026, 5, 1), total="20000")  # due 31 May, unpaid
    add_invoice(session, acme, "A-6", issued=date(2026, 6, 1), total="20000", status=InvoiceStatus.PAID,
                paid_on=date(2026, 6, 20))
    add_invoice(session, huanan, "H-2", issued=date(2026, 2, 1), total="150000", currency="CNY",
                status=InvoiceStatus.PAID, paid_on=date(2026, 3, 1), credit="10000")
    add_invoice(session, huanan, "H-6", issued=date(2026, 6, 10), total="40000", currency="CNY")  # due 10 July
    for account, rating, when in ((acme, 2, _utc(2026, 6, 3)), (acme, 3, _utc(2026, 6, 20)), (acme, 4, _utc(2026, 5, 9)),
                                  (huanan, 5, _utc(2026, 6, 15, 4))):
        session.add(Feedback(account_id=account.account.id, rating=rating, created_at=when))
    session.add_all([
        ServiceRequest(account_id=acme.account.id, category=RequestCategory.SERVICE, subject="Late", description="",
                       priority=Priority.HIGH, first_response_due_at=_utc(2026, 7, 1), escalation_level=2),
        ServiceRequest(account_id=acme.account.id, category=RequestCategory.SERVICE, subject="Done", description="",
                       priority=Priority.LOW, status=RequestStatus.RESOLVED, first_response_due_at=_utc(2026, 6, 1)),
        ServiceRequest(account_id=huanan.account.id, category=RequestCategory.SERVICE, subject="On time",
                       description="", priority=Priority.LOW, first_response_due_at=_utc(2026, 8, 1)),
        ActionItem(account_id=acme.account.id, title="Late action", source=ActionSource.MEETING,
                   due_date=date(2026, 7, 1)),
        ActionItem(account_id=acme.account.id, title="Done action", source=ActionSource.MEETING,
                   due_date=date(2026, 6, 1), status=ActionStatus.DONE),
        Plan(account_id=acme.account.id, contract_id=acme["contract"].id, plan_type=PlanType.QBP, period="2026-Q3",
             currency="USD", content={}, status=PlanStatus.IN_REVIEW),
    ])
    manager = make_user(session, "am.acme@firm.example", Role.ACCOUNT_MANAGER, name="Anna Manager")
    assign(session, manager, acme.account)
    session.commit()
    return acme, huanan, manager


def test_figures_match_the_hand_computed_ones_in_two_currencies(session, book):
    acme, huanan, manager = book
    result = service.portfolio(session, JUNE, now=NOW)
    usd, cny = result.rows
    assert (usd.account, cny.account) == (acme.account, huanan.account)  # red before green
    assert (usd.rag, usd.kpis_met, usd.red_kpis_running) == ("red", Decimal("0.5"), ["K1"])
    assert (cny.rag, cny.kpis_met, cny.red_kpis_running) == ("green", Decimal("1"), [])
    assert (usd.csat, usd.csat_before, usd.csat_trend) == (Decimal("2.50"), Decimal("4.00"), "down")
    assert (cny.csat, cny.csat_trend) == (Decimal("5.00"), "none")
    assert (usd.open_requests, usd.overdue_requests, usd.escalations, usd.overdue_actions) == (1, 1, 1, 1)
    assert (cny.open_requests, cny.overdue_requests, cny.escalations, cny.overdue_actions) == (1, 0, 0, 0)
    # DSO on 30 June over 90 days: receivables ÷ billed since 1 April × 90.
    assert usd.dso.value == Decimal("45.0")  # 20,000 ÷ 40,000 × 90
    assert cny.dso.value == Decimal("90.0")  # 40,000 ÷ 40,000 × 90
    assert (usd.payment_terms, cny.payment_terms) == (30, 30)
    assert (usd.overdue_amount, cny.overdue_amount) == (Decimal("20000"), Decimal(0))
    # Billed to 30 June against the ACV × 181/365.
    assert (usd.revenue.billed, usd.revenue.expected) == (Decimal("45000.00"), Decimal("59506.85"))
    assert (cny.revenue.billed, cny.revenue.expected) == (Decimal("180000.00"), Decimal("181000.00"))
    assert [c.number for c in usd.contracts_ending] == ["MSA-USD"] and cny.contracts_ending == []
    assert (usd.plans_awaiting_review, usd.pending_decisions, cny.pending_decisions) == (1, 1, 0)
    assert usd.managers == ["Anna Manager"] and cny.managers == []
    assert result.totals == {
        "CNY": {"accounts": 1, "overdue": Decimal(0), "acv": Decimal("365000"), "billed": Decimal("180000.00"),
                "expected": Decimal("181000.00")},
        "USD": {"accounts": 1, "overdue": Decimal("20000"), "acv": Decimal("120000"), "billed": Decimal("45000.00"),
                "expected": Decimal("59506.85")},
    }


def test_an_amount_overdue_in_another_currency_is_shown_apart_and_in_no_share(app, session, book, admin):
    """Acme's contract is in USD; its Vietnamese office is billed in VND, 12,000,000 of it
    overdue (less a 2,000,000 credit), and a VND invoice not yet due: the regional team sees
    the VND under the USD figure, on the page, in the export and in the report, and in a
    VND total of its own; the USD share of the ACV is unchanged."""
    from io import BytesIO

    import openpyxl

    from portal.portfolio import report
    from tests.conftest import Browser

    acme = book[0]
    add_invoice(session, acme, "A-VN-5", issued=date(2026, 5, 5), total="12000000", currency="VND", location="VN",
                credit="2000000")  # due 4 June
    add_invoice(session, acme, "A-VN-6", issued=date(2026, 6, 25), due_in=45, total="9000000", currency="VND",
                location="VN")  # the latest invoice, on other terms
    session.commit()
    usd = service.portfolio(session, JUNE, now=NOW).rows[0]
    assert (usd.account.name, usd.overdue_amount, usd.overdue_elsewhere) == ("Acme", Decimal("20000"),
                                                                             {"VND": Decimal("10000000")})
    assert usd.overdue_share == Decimal("20000") / Decimal("120000")
    # Nor is any VND in the USD figures: DSO, billed revenue against the ACV.
    assert (usd.dso.value, usd.revenue.billed) == (Decimal("45.0"), Decimal("45000.00"))
    assert usd.payment_terms == 30  # the terms DSO is held against: of the latest USD invoice
    totals = service.portfolio(session, JUNE, now=NOW).totals
    assert totals["VND"] == {"accounts": 0, "overdue": Decimal("10000000")}
    assert totals["USD"]["overdue"] == Decimal("20000")

    browser = Browser(app.test_client())
    browser.login(admin.email)
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    acme_row = page[page.index(">Acme<"):page.index(">Huanan<")]
    assert "$20,000.00" in acme_row and "₫10,000,000" in acme_row
    assert "Totals in VND" in page
    sheet = openpyxl.load_workbook(BytesIO(browser.get("/portfolio?period=2026-06&format=xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("Overdue in other currencies")
    assert [r[column] for r in rows[1:]] == ["10000000 VND", None]
    with app.test_request_context():
        data = report.report_data(service.portfolio(session, JUNE, now=NOW), [], admin, language="en",
                                  period_label="2026-06", today=date(2026, 7, 15))
        text = _docx_text(report.render_report(data))
    assert "VND 10,000,000" in text.replace("\u00a0", " ")
    assert "VND 0" not in text.replace("\u00a0", " ")  # no ACV nor billing in VND: dashes


@pytest.mark.parametrize(("filters", "names"), [
    (service.Filters(tier="strategic"), ["Huanan"]),
    (service.Filters(country="VN"), ["Huanan"]),
    (service.Filters(country="gb"), ["Acme"]),
    (service.Filters(country="CN"), ["Huanan"]),
])
def test_filters_keep_the_matching_accounts(session, book, filters, names):
    assert [row.account.name for row in service.portfolio(session, JUNE, filters, now=NOW).rows] == names


def test_filter_by_account_manager_and_sorting(session, book):
    manager = book[2]
    rows = service.portfolio(session, JUNE, service.Filters(manager_id=manager.id), now=NOW).rows
    assert [row.account.name for row in rows] == ["Acme"]
    assert [r.account.name for r in service.portfolio(session, JUNE, sort="csat", now=NOW).rows] == ["Acme", "Huanan"]
    assert [r.account.name for r in service.portfolio(session, JUNE, sort="dso", now=NOW).rows] == ["Huanan", "Acme"]


# --- the page ----------------------------------------------------------------------


def test_the_page_lists_the_worst_first_and_an_account_manager_sees_only_theirs(app, session, book, admin):
    from tests.conftest import Browser

    acme, huanan, manager = book
    browser = Browser(app.test_client())
    browser.login(admin.email)
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert page.index("Acme") < page.index("Huanan")
    assert "Totals in CNY" in page and "Totals in USD" in page
    shares, dso = [browser.get(src.replace("&amp;", "&")) for src in re.findall(r'<img class="chart" src="([^"]+)"', page)]
    assert shares.status_code == dso.status_code == 200 and shares.mimetype == dso.mimetype == "image/svg+xml"
    assert "Payment terms (days)" in dso.get_data(as_text=True) and "KPIs met" in shares.get_data(as_text=True)
    assert browser.get("/portfolio/chart.svg?chart=nope").status_code == 404
    assert browser.get("/portfolio?period=2026-06&sort=account&tier=strategic").get_data(as_text=True).count("Acme") == 0
    browser.logout()
    browser.login(manager.email)
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert "Acme" in page and "Huanan" not in page


def _country_options(page: str) -> list[tuple[str, str, bool]]:
    import re

    select = page.split('<select name="country">')[1].split("</select>")[0]
    return [(value, name, bool(chosen)) for value, chosen, name
            in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select)]


@pytest.mark.parametrize(("language", "names"), [
    ("en", ["All", "China", "United Kingdom", "Vietnam"]),
    ("zh", ["全部", "中国", "英国", "越南"]),
])
def test_the_country_filter_offers_where_the_accounts_are_served_by_name(app, session, book, admin, language, names):
    """Acme is served in the United Kingdom; Huanan is a Chinese account served in Vietnam.
    The filter offers those countries by name in the reader's language, not a code to type."""
    from tests.conftest import Browser

    acme, huanan, manager = book
    admin.language = language
    session.commit()
    browser = Browser(app.test_client())
    browser.login(admin.email)
    options = _country_options(browser.get("/portfolio?period=2026-06").get_data(as_text=True))
    assert sorted(value for value, _name, _chosen in options) == ["", "CN", "GB", "VN"]
    assert options[0][1] == names[0] and sorted(name for _value, name, _chosen in options[1:]) == sorted(names[1:])
    page = browser.get("/portfolio?period=2026-06&country=VN").get_data(as_text=True)
    assert ("VN", names[3], True) in _country_options(page)
    assert "Huanan" in page and "Acme" not in page
    # A kept link to a country no account is served in still shows what it asked for.
    page = browser.get("/portfolio?period=2026-06&country=fr").get_data(as_text=True)
    assert [(value, chosen) for value, _name, chosen in _country_options(page) if chosen] == [("FR", True)]
    assert "Acme" not in page and "Huanan" not in page
    browser.logout()
    browser.login(manager.email)  # Acme's manager: only Acme's country
    options = _country_options(browser.get("/portfolio?period=2026-06").get_data(as_text=True))
    assert [value for value, _name, _chosen in options] == ["", "GB"]


def test_the_export_reads_back(app, session, book, admin):
    from io import BytesIO

    import openpyxl

    from tests.conftest import Browser

    browser = Browser(app.test_client())
    browser.login(admin.email)
    response = browser.get("/portfolio?period=2026-06&format=xlsx")
    sheet = openpyxl.load_workbook(BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Account" and [r[0] for r in rows[1:]] == ["Acme", "Huanan"]
    assert [r[3] for r in rows[1:]] == ["USD", "CNY"]


@pytest.mark.parametrize("role", [Role.CLIENT_APPROVER, Role.CLIENT_VIEWER, Role.FINANCE])
def test_others_may_not_open_the_portfolio(app, session, book, role):
    from tests.conftest import Browser

    make_user(session, f"{role.value}@acme.example", role, book[0].account)
    session.commit()
    browser = Browser(app.test_client())
    browser.login(f"{role.value}@acme.example")
    assert browser.get("/portfolio").status_code == 403
    assert browser.get("/portfolio/chart.svg").status_code == 403


# --- adverse variances -------------------------------------------------------------


def test_an_alert_is_raised_once_and_cleared_by_acknowledging(app, session, book, admin):
    import sqlalchemy as sa

    from portal.models import AuditEvent, InAppNotification, PortfolioAlert
    from portal.models.portfolio import AlertKind
    from tests.conftest import Browser, csrf_token

    acme, huanan, manager = book
    first = service.check_alerts(session, JUNE, now=NOW)
    session.commit()
    assert service.check_alerts(session, JUNE, now=NOW) == []  # run again: nothing new
    session.commit()
    alerts = session.scalars(sa.select(PortfolioAlert).order_by(PortfolioAlert.id)).all()
    assert {(a.account_id, a.kind) for a in alerts} == {(a.account_id, a.kind) for a in first} == {
        (acme.account.id, AlertKind.KPI_RED), (acme.account.id, AlertKind.DSO_OVER_TERMS),
        (acme.account.id, AlertKind.REVENUE_UNDER_ACV), (acme.account.id, AlertKind.CSAT_LOW),
        (huanan.account.id, AlertKind.DSO_OVER_TERMS)}
    notices = session.scalars(sa.select(InAppNotification).where(InAppNotification.kind == "portfolio_alert")).all()
    assert len(notices) == 4 and {n.recipient_id for n in notices} == {manager.id}  # Huanan has no manager
    assert any("K1" in n.title or "Acme" in n.title for n in notices)

    browser = Browser(app.test_client())
    browser.login(admin.email)
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert page.count("Acknowledge</button>") == 5
    kpi_alert = next(a for a in alerts if a.kind is AlertKind.KPI_RED)
    response = browser.client.post(f"/portfolio/alerts/{kpi_alert.id}/acknowledge",
                                   data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert page.count("Acknowledge</button>") == 4
    session.rollback()
    assert session.get(PortfolioAlert, kpi_alert.id).acknowledged_by_id == admin.id
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "portfolio.alert_acknowledged")) == 1


def test_two_checks_of_a_month_at_once_raise_each_alert_once(app, session, book, monkeypatch):
    """The daily job and an administrator's "check now" may run at once on two workers.
    Both read the month's alerts before either raises one; each alert is then raised,
    recorded and told once, and neither check fails."""
    import threading

    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import AuditEvent, PortfolioAlert
    from portal.security import unscoped

    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("on SQLite jobs write one at a time (BEGIN IMMEDIATE): two checks never overlap")
    both_read = threading.Barrier(2, timeout=30)
    first_row = threading.local()
    real_variances = service.variances

    def variances(row):
        if not getattr(first_row, "seen", False):  # the month's alerts are read by now
            first_row.seen = True
            both_read.wait()
        return real_variances(row)

    monkeypatch.setattr(service, "variances", variances)
    errors: list[BaseException] = []
    raised: list[int] = []

    def check() -> None:
        try:
            with app.app_context(), unscoped():
                raised.append(len(service.check_alerts(db.session, JUNE, now=NOW)))
                db.session.commit()
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    session.rollback()  # see what the checks committed
    alerts = session.scalars(sa.select(PortfolioAlert).where(PortfolioAlert.period == JUNE)).all()
    assert alerts and sum(raised) == len(alerts)
    assert len({(a.account_id, a.kind) for a in alerts}) == len(alerts)
    recorded = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "portfolio.alert_raised")).all()
    assert len(recorded) == len(alerts)


def test_an_alert_whose_condition_no_longer_holds_stays_on_the_page_until_acknowledged(app, session, book, admin):
    """The issue: adverse variances "appear on the team lead's page until acknowledged".
    One whose condition clears is marked back within bounds, not dropped unseen; it is
    not raised (nor told) again in the month, and leaves the page when acknowledged."""
    import sqlalchemy as sa

    from portal.models import AuditEvent, Feedback, InAppNotification, PortfolioAlert
    from portal.models.portfolio import AlertKind
    from portal.portfolio import report
    from tests.conftest import Browser, csrf_token

    acme = book[0]
    service.check_alerts(session, JUNE, now=NOW)
    session.commit()
    told = session.scalar(sa.select(sa.func.count()).select_from(InAppNotification))
    session.add_all([Feedback(account_id=acme.account.id, rating=5, created_at=_utc(2026, 6, 28)) for _ in range(3)])
    session.commit()
    assert service.check_alerts(session, JUNE, now=NOW) == []  # the average is now 4.0
    session.commit()
    csat = session.scalar(sa.select(PortfolioAlert).where(PortfolioAlert.kind == AlertKind.CSAT_LOW))
    assert csat.closed_at is not None and csat.acknowledged_at is None
    assert csat in service.open_alerts(session)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "portfolio.alert_closed")) == 1

    browser = Browser(app.test_client())
    browser.login(admin.email)
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert page.count("Acknowledge</button>") == 5 and page.count("Back within bounds") == 1
    session.rollback()  # a snapshot from before the page's writes would not write
    # The ratings fall again within the month: it holds again, and is still not raised twice.
    session.add_all([Feedback(account_id=acme.account.id, rating=1, created_at=_utc(2026, 6, 29)) for _ in range(6)])
    session.commit()
    assert service.check_alerts(session, JUNE, now=NOW) == []
    session.commit()
    session.refresh(csat)
    assert csat.closed_at is None
    assert session.scalar(sa.select(sa.func.count()).select_from(PortfolioAlert)
                          .where(PortfolioAlert.kind == AlertKind.CSAT_LOW)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(InAppNotification)) == told
    session.rollback()
    session.add_all([Feedback(account_id=acme.account.id, rating=5, created_at=_utc(2026, 6, 30)) for _ in range(20)])
    session.commit()
    service.check_alerts(session, JUNE, now=NOW)
    session.commit()
    with app.test_request_context():  # the management report lists it too, marked
        data = report.report_data(service.portfolio(session, JUNE, now=NOW), service.open_alerts(session), admin,
                                  language="en", period_label="2026-06", today=date(2026, 7, 15))
        text = _docx_text(report.render_report(data)).replace("\u2060", "").replace("\xa0", " ")
    assert "June 2026\nCSAT under 3 (back within bounds)" in text
    assert "June 2026\nDSO over the payment terms\n" in text
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert "Back within bounds" in page
    response = browser.client.post(f"/portfolio/alerts/{csat.id}/acknowledge", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    assert page.count("Acknowledge</button>") == 4 and "Back within bounds" not in page
    session.rollback()
    assert session.get(PortfolioAlert, csat.id).acknowledged_by_id == admin.id


# --- the management report -----------------------------------------------------------


def _docx_text(data: bytes) -> str:
    from io import BytesIO

    import docx

    document = docx.Document(BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


@pytest.mark.parametrize(("language", "words"), [
    ("zh", ["客户组合报告", "服务交付", "按币种合计", "红", "关键绩效指标连续两个月为红"]),
    ("vi", ["Báo cáo danh mục khách hàng", "Cung cấp dịch vụ", "Tổng cộng theo loại tiền tệ", "Đỏ",
            "KPI Đỏ hai tháng liên tiếp"]),
])
def test_the_report_reads_back_in_the_readers_language(app, session, book, admin, language, words):
    from portal.portfolio import report

    service.check_alerts(session, JUNE, now=NOW)
    session.commit()
    with app.test_request_context():
        data = report.report_data(service.portfolio(session, JUNE, now=NOW), service.open_alerts(session), admin,
                                  language=language, period_label="2026-Q2", today=date(2026, 7, 15))
        text = _docx_text(report.render_report(data))
    for word in [*words, "Acme", "Huanan", "2026-Q2"]:
        assert word in text, word
    assert text.index("Acme") < text.index("Huanan")
    assert "45.000" in text or "45,000" in text  # Acme's billed to date


def test_the_report_downloads_from_the_page(app, session, book, admin):
    from tests.conftest import Browser

    browser = Browser(app.test_client())
    browser.login(admin.email)
    response = browser.get("/portfolio/report?period=2026-06&quarter=2026-Q2&format=docx")
    assert response.status_code == 200 and response.mimetype.endswith("wordprocessingml.document")
    assert "Portfolio report" in _docx_text(response.data)


def test_a_double_click_on_the_report_pdf_makes_one_job(app, session, book, admin):
    """The menu item carries the page's one-time token: the same form sent twice (a double
    click, a resubmit after a 503) makes one PDF job and leads to the same page."""
    import re

    from tests.conftest import Browser, csrf_token
    from tests.helpers import latest

    _acme, _huanan, manager = book
    asker = Browser(app.test_client())
    asker.login(manager.email)
    page = asker.get("/portfolio?period=2026-06").get_data(as_text=True)
    once = re.search(r'action="/portfolio/report/pdf\?period=2026-06"[^>]*>.*?name="once" value="([^"]+)"', page, re.S)
    assert once, "the PDF menu item carries a one-time token"
    form = {"csrf_token": csrf_token(page), "once": once.group(1)}
    first = asker.client.post("/portfolio/report/pdf?period=2026-06", data=form)
    second = asker.client.post("/portfolio/report/pdf?period=2026-06", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(latest(session).scalars(sa.select(Job).where(Job.kind == "report_pdf")).all()) == 1


def test_the_report_pdf_is_made_in_the_background_for_its_asker_only(app, session, book, admin, monkeypatch):
    """LibreOffice takes seconds: the PDF is a job, followed on the portfolio page; the
    file it made opens for who asked (the figures in their scope), for nobody else."""
    import docgen.pdf
    from tests.conftest import Browser, csrf_token
    from tests.helpers import finish_jobs, latest

    converted = []

    def convert(docxs, **_options):
        converted.extend(docxs)
        return [b"%PDF-1.7 the management report"]

    monkeypatch.setattr(docgen.pdf, "to_pdf", convert)
    _acme, _huanan, manager = book
    asker = Browser(app.test_client())
    asker.login(manager.email)
    page = asker.get("/portfolio?period=2026-06&tier=key").get_data(as_text=True)
    assert 'action="/portfolio/report/pdf?quarter=2026-Q2&amp;period=2026-06&amp;tier=key"' in page
    assert asker.get("/portfolio/report?period=2026-06&format=pdf").status_code == 404  # no PDF made in the request
    assert not converted

    response = asker.client.post("/portfolio/report/pdf?quarter=2026-Q2&period=2026-06&tier=key",
                                 data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    following = asker.get(response.headers["Location"]).get_data(as_text=True)
    assert "Management report Q2 2026, PDF" in following and "data-job=" in following
    asker.client.post("/portfolio/report/pdf?period=2026-06", data={"csrf_token": csrf_token(page)})
    assert "The management report June 2026 is being made as PDF." in asker.get("/portfolio").get_data(as_text=True)
    finish_jobs(app)
    jobs = {j.params["filename"]: j for j in latest(session).scalars(sa.select(Job).where(Job.kind == "report_pdf"))}
    assert sorted(jobs) == ["portfolio-report-2026-06", "portfolio-report-2026-Q2"]
    job = jobs["portfolio-report-2026-Q2"]
    assert job.status is JobStatus.FINISHED and job.result_url == f"/jobs/{job.id}/file"
    assert job.params["data"]["accounts"] and {a["name"] for a in job.params["data"]["accounts"]} == {"Acme"}
    assert len(converted) == 2 and "Portfolio report" in _docx_text(converted[0])

    made = asker.get(job.result_url)
    assert (made.status_code, made.mimetype, made.data) == (200, "application/pdf", b"%PDF-1.7 the management report")
    assert "portfolio-report-2026-Q2.pdf" in made.headers["Content-Disposition"]
    other = Browser(app.test_client())
    other.login(admin.email)
    assert other.get(job.result_url).status_code == 200  # an administrator sees every job
    latest(session).execute(sa.update(User).where(User.id == admin.id).values(role=Role.ACCOUNT_MANAGER))
    session.commit()
    assert other.get(job.result_url).status_code == 404
    assert asker.client.post("/portfolio/report/pdf", data={}).status_code == 400  # no CSRF token


def test_the_number_of_statements_does_not_grow_with_the_accounts(session, book):
    import sqlalchemy as sa

    engine = session.get_bind()
    statements = []

    def count(*_args):
        statements.append(1)

    def run() -> int:
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            service.portfolio(session, JUNE, now=NOW)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    two = run()
    for n in range(3):
        _world(session, f"More {n}", "USD", "GB", "UTC", Tier.STANDARD, "1000", date(2027, 1, 1), "GB",
               [("K1", "99", KpiDirection.HIGHER, {JUNE: "99"})], number=f"MSA-MORE-{n}")
    session.commit()
    assert run() == two


# --- a quarter ---------------------------------------------------------------------


def _measure(session, world, code: str, period: date, actual: str) -> None:
    kpi = session.scalar(sa.select(Kpi).where(Kpi.account_id == world.account.id, Kpi.code == code))
    session.add(KpiMeasurement(account_id=world.account.id, kpi_id=kpi.id, period=period, actual=Decimal(actual)))


@pytest.mark.parametrize(("language", "quarter", "red", "amber"), [
    ("en", "Q2 2026", "Red", "Amber"),
    ("zh", "2026年第2季度", "红灯", "黄灯"),
    ("vi", "Quý 2/2026", "Đỏ", "Vàng"),
])
def test_a_past_quarters_report_is_its_months_together(app, session, book, admin, language, quarter, red, amber):
    """The second quarter was once June's figures alone. Acme's KPIs in April, May and
    June: K1 green, red, red; K2 green, -, green: 3 of 5 met, red. Huanan's K1 amber in
    May, green in June: 1 of 2, amber. CSAT is the quarter's ratings (Acme 2, 3, 4 and 5
    in April: 3.50; the first quarter's 2: up); the money as of 30 June."""
    acme, huanan, _manager = book
    _measure(session, acme, "K1", date(2026, 4, 1), "99.5")
    _measure(session, acme, "K2", date(2026, 4, 1), "9")
    _measure(session, huanan, "K1", date(2026, 5, 1), "98")  # 98 ÷ 99: within 5 %
    session.add_all([Feedback(account_id=acme.account.id, rating=5, created_at=_utc(2026, 4, 2)),
                     Feedback(account_id=acme.account.id, rating=2, created_at=_utc(2026, 3, 30))])
    admin.language = language
    session.commit()

    result = service.portfolio(session, service.quarter_start(2026, 2), now=NOW, months=3)
    usd, cny = result.rows
    assert (usd.account, usd.rag, usd.kpis_met) == (acme.account, "red", Decimal("0.6"))
    assert (cny.account, cny.rag, cny.kpis_met) == (huanan.account, "amber", Decimal("0.5"))
    assert (usd.csat, usd.csat_before, usd.csat_trend) == (Decimal("3.50"), Decimal("2.00"), "up")
    assert (cny.csat, cny.csat_before) == (Decimal("5.00"), None)
    assert usd.on == date(2026, 6, 30) and cny.on == date(2026, 6, 30)
    assert (usd.dso.value, usd.overdue_amount) == (Decimal("45.0"), Decimal("20000"))
    assert (usd.revenue.billed, usd.revenue.expected) == (Decimal("45000.00"), Decimal("59506.85"))

    from tests.conftest import Browser

    browser = Browser(app.test_client())
    browser.login(admin.email)
    response = browser.get("/portfolio/report?period=2026-06&quarter=2026-Q2&format=docx")
    assert response.status_code == 200
    text = _docx_text(response.data).replace("\u2060", "").replace("\xa0", " ")
    assert quarter in text and "2026-Q2" not in text.replace("PFR-2026-Q2", "")
    assert f"Acme\n{red}\n60 %" in text and f"Huanan\n{amber}\n50 %" in text  # RAG, KPIs met
    page = browser.get("/portfolio?period=2026-05").get_data(as_text=True)
    assert quarter in page  # the menu's quarter, in the reader's words


def test_a_report_of_the_quarter_in_progress_counts_its_months_so_far(app, session, book, admin):
    """On 15 July the third quarter runs: its report once took September's figures (a
    month to come), every account "no data". July's measured KPIs count; the money is as
    of today."""
    from portal.portfolio import report

    acme, huanan, _manager = book
    _measure(session, acme, "K1", date(2026, 7, 1), "99.5")
    _measure(session, acme, "K2", date(2026, 7, 1), "8")
    session.add(Feedback(account_id=acme.account.id, rating=4, created_at=_utc(2026, 7, 3)))
    session.commit()

    result = service.portfolio(session, service.quarter_start(2026, 3), now=NOW, months=3)
    rows = {row.account.name: row for row in result.rows}
    assert (rows["Acme"].rag, rows["Acme"].kpis_met) == ("green", Decimal("1"))
    assert (rows["Huanan"].rag, rows["Huanan"].kpis_met) == ("none", None)
    assert result.rag_counts == {"red": 0, "amber": 0, "green": 1, "none": 1}
    assert (rows["Acme"].csat, rows["Acme"].csat_before, rows["Acme"].csat_trend) == (Decimal("4.00"),
                                                                                    Decimal("3.00"), "up")
    assert rows["Acme"].on == date(2026, 7, 15) and rows["Huanan"].on == date(2026, 7, 15)
    # Billed to 15 July against the ACV × 196/365.
    assert (rows["Acme"].revenue.billed, rows["Acme"].revenue.expected) == (Decimal("45000.00"), Decimal("64438.36"))
    with app.test_request_context():
        data = report.report_data(result, [], admin, language="vi", period_label="2026-Q3", today=date(2026, 7, 15))
        text = _docx_text(report.render_report(data)).replace("\u2060", "").replace("\xa0", " ")
    assert "Kỳ: Quý 3/2026" in text and "Acme\nXanh\n100 %" in text


def test_a_quarter_is_asked_for_by_its_name_or_not_at_all(app, session, book, admin):
    from tests.conftest import Browser

    browser = Browser(app.test_client())
    browser.login(admin.email)
    for bad in ("2026-Q5", "2026-Q0", "26-Q1", "2026-Q", "2026-Q1x"):
        assert browser.get(f"/portfolio/report?quarter={bad}&format=docx").status_code == 404, bad


# --- pending decisions -------------------------------------------------------------


def test_pending_decisions_are_those_the_inbox_and_the_agenda_count(app, session, alpha, admin):
    """Change requests pending internal approval, pending the client's and countered (the
    meeting agenda's), plans in review or awaiting sign-off, documents in review and
    proposed service credits; not drafts nor decided ones. Only those awaiting the
    client were counted."""
    from portal.change_requests.service import new_change_request
    from portal.meetings.service import agenda
    from portal.models import CRStatus
    from portal.models.document import DocumentStatus
    from tests.conftest import Browser

    alpha["change_request"].status = CRStatus.APPROVED
    for status in (CRStatus.PENDING_INTERNAL_APPROVAL, CRStatus.PENDING_CLIENT_APPROVAL, CRStatus.COUNTERED,
                   CRStatus.DRAFT, CRStatus.REJECTED):
        cr = new_change_request(session, alpha["contract"], created_by=None, title={"en": status.value},
                                description={"en": ""}, in_scope=True, effective_date=date(2026, 12, 31))
        cr.status = status
    alpha["document"].status = DocumentStatus.IN_REVIEW
    assert alpha["plan"].status is PlanStatus.IN_REVIEW and alpha["service_credit"].status.value == "approved"
    session.commit()

    row = service.portfolio(session, JUNE, now=NOW).rows[0]
    assert row.account == alpha.account
    assert (row.crs_pending, row.plans_awaiting_review, row.documents_in_review, row.credits_proposed) == (3, 1, 1, 0)
    assert row.pending_decisions == 5
    assert row.crs_pending == len(agenda(session, alpha.account).pending_change_requests)

    browser = Browser(app.test_client())
    browser.login(admin.email)
    page = browser.get("/portfolio?period=2026-06").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "5 CRs 3 Plans 1 Documents 1" in text and "Credits 0" not in text  # the kinds waiting, each on its line


# --- revenue against the ACV of a contract that started mid-year -------------------


def test_a_contract_that_started_in_june_is_not_behind_on_revenue_in_june(session, book):
    """Newco's contract started on 1 June; its June invoice is a month of its ACV. It was
    held to the ACV × 181/365 (from 1 January): "revenue under 90 %" on day one."""
    from portal.models.portfolio import AlertKind

    newco = _world(session, "Newco", "USD", "GB", "UTC", Tier.STANDARD, "120000", date(2027, 5, 31), "GB", [],
                   number="MSA-NEWCO")
    newco["contract"].start_date = date(2026, 6, 1)
    add_invoice(session, newco, "N-6", issued=date(2026, 6, 1), total="10000", status=InvoiceStatus.PAID,
                paid_on=date(2026, 6, 20))
    session.commit()
    row = next(r for r in service.portfolio(session, JUNE, now=NOW).rows if r.account.name == "Newco")
    assert (row.revenue.billed, row.revenue.expected) == (Decimal("10000.00"), Decimal("9863.01"))  # × 30/365
    assert AlertKind.REVENUE_UNDER_ACV not in service.variances(row)
    raised = service.check_alerts(session, JUNE, now=NOW)
    assert not [a for a in raised if a.account_id == newco.account.id]
