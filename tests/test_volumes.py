"""Volumes and prices against the contract: monthly volumes per scope line imported all
or nothing and flagged against the contracted quantity (a twelfth of the yearly, ±10 %),
seen by the account's own client only; imported invoice lines that name a scope line
priced against the contract (after a change request too), a variance holding the invoice
away from the client until finance releases it."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from portal.billing.imports import Incoming, read_invoice_file, upsert_invoices, validate_invoice
from portal.billing.service import release_invoice
from portal.change_requests.service import decide, implement, new_change_request, submit
from portal.imports import ImportRefused
from portal.kpis.service import previous_month
from portal.models import AuditEvent, ChangeRequestLine, Decision, Invoice, LineChange, Role, ScopeLine, ScopeLineVolume
from portal.volumes.imports import read_volume_file, upsert_volumes
from portal.volumes.service import flag, month_end, volume_table
from tests.conftest import ROOT

THIS_MONTH = date.today().replace(day=1)
LAST_MONTH = previous_month(THIS_MONTH)
TWO_MONTHS_AGO = previous_month(LAST_MONTH)
THREE_MONTHS_AGO = previous_month(TWO_MONTHS_AGO)
CONTRACT = "MSA-Alpha-001"
CLIENT, FINANCE, AM = "client.approver@alpha.example", "finance@alpha.example", "account.manager@alpha.example"


def volumes_csv(*rows: tuple) -> bytes:
    lines = ["contract,line,month,quantity", *(",".join(str(cell) for cell in row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def volume_count(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(ScopeLineVolume))


def monthly_hundred(session, world) -> ScopeLine:
    """The world's scope line at 1,200 a year: 100 a month."""
    line = world["scope_line"]
    line.quantity = Decimal(1200)
    session.commit()
    return line


# --- volumes -------------------------------------------------------------------------------


def test_a_file_with_bad_rows_stores_nothing_and_names_each_row_and_column(alpha, session):
    before = volume_count(session)
    content = volumes_csv((CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "98"), (CONTRACT, 1, "2026-13", "9"),
                          (CONTRACT, 7, f"{LAST_MONTH:%Y-%m}", "1"), (CONTRACT, 1, f"{TWO_MONTHS_AGO:%Y-%m}", "-1"),
                          ("MSA-Bravo-001", 1, f"{LAST_MONTH:%Y-%m}", "1"))
    with pytest.raises(ImportRefused) as refused:
        upsert_volumes(session, read_volume_file(content))
    assert [str(p) for p in refused.value.problems] == [
        "line 3: month: not a valid month (YYYY-MM)", "line 4: line: no line 7 in contract MSA-Alpha-001",
        "line 5: quantity: must not be negative", "line 6: contract: no such contract"]
    assert volume_count(session) == before  # not even the good first row


def test_a_workbook_imports_and_the_same_line_and_month_again_replaces_it(alpha, session):
    workbook = openpyxl.Workbook()
    workbook.active.append(["contract", "line", "month", "quantity"])
    workbook.active.append([CONTRACT, 1, LAST_MONTH, 8.5])  # Excel turns a typed 2026-11 into a date
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upsert_volumes(session, read_volume_file(buffer.getvalue())).counts() == {"new": 1, "updated": 0}
    session.commit()
    again = upsert_volumes(session, read_volume_file(volumes_csv((CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "9.25"))))
    session.commit()
    assert again.counts() == {"new": 0, "updated": 1}
    assert session.scalar(sa.select(ScopeLineVolume.quantity).where(ScopeLineVolume.period == LAST_MONTH)) == Decimal("9.25")


def test_the_command_imports_a_file_and_prints_the_counts(alpha, session, runner, tmp_path):
    path = tmp_path / "volumes.csv"
    path.write_bytes(volumes_csv((CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "98"), (CONTRACT, 1, f"{TWO_MONTHS_AGO:%Y-%m}", "101.5")))
    result = runner.invoke(args=["import", "volumes", str(path)])
    assert (result.exit_code, result.output.strip()) == (0, f"Imported 2 monthly volumes (2 new, 0 updated) from {path}.")
    session.rollback()
    assert dict(session.execute(sa.select(ScopeLineVolume.period, ScopeLineVolume.quantity)
                                .where(ScopeLineVolume.period.in_([LAST_MONTH, TWO_MONTHS_AGO]))).all()) == {
        LAST_MONTH: Decimal("98"), TWO_MONTHS_AGO: Decimal("101.5")}

    path.write_bytes(volumes_csv((CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "97")))
    result = runner.invoke(args=["import", "volumes", str(path)])
    assert (result.exit_code, result.output.strip()) == (0, f"Imported 1 monthly volume (0 new, 1 updated) from {path}.")


def test_the_command_refuses_a_bad_file_whole_and_names_each_row_and_column(alpha, session, runner, tmp_path):
    before = volume_count(session)
    path = tmp_path / "volumes.csv"
    path.write_bytes(volumes_csv((CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "98"), (CONTRACT, 7, f"{LAST_MONTH:%Y-%m}", "1")))
    result = runner.invoke(args=["import", "volumes", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == ["line 3: line: no line 7 in contract MSA-Alpha-001"]
    assert volume_count(session) == before


def test_the_sample_file_reads_without_a_problem():
    incoming = read_volume_file((ROOT / "portal/static/samples/volumes.csv").read_bytes())
    assert not incoming.problems and len(incoming.volumes) == 5


@pytest.mark.parametrize("actual, expected", [("110", "within"), ("110.0001", "over"), ("90", "within"),
                                              ("89.9999", "under"), ("100", "within")])
def test_a_month_is_flagged_only_beyond_ten_percent_of_the_contracted_volume(actual, expected):
    assert flag(Decimal(actual), Decimal(100)) == expected


def test_the_trend_flags_each_month_against_a_twelfth_of_the_yearly_quantity(alpha, session):
    monthly_hundred(session, alpha)
    upsert_volumes(session, read_volume_file(volumes_csv(
        (CONTRACT, 1, f"{THREE_MONTHS_AGO:%Y-%m}", "110"), (CONTRACT, 1, f"{TWO_MONTHS_AGO:%Y-%m}", "89"),
        (CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "111"))))
    session.commit()
    table = volume_table(session, alpha["contract"], LAST_MONTH)
    assert len(table.months) == 12 and table.months[-1] == LAST_MONTH
    [row] = table.rows
    assert row.contracted == 100
    assert [c.flag if c else None for c in row.cells[-4:]] == [None, "within", "under", "over"]
    assert table.flagged == 2


def test_the_client_sees_its_own_volumes_and_not_another_accounts(worlds, session, browser, client, auth):
    alpha, bravo = worlds
    monthly_hundred(session, alpha)
    upsert_volumes(session, read_volume_file(volumes_csv((CONTRACT, 1, f"{LAST_MONTH:%Y-%m}", "125"))))
    session.commit()
    own = f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}/volumes"
    browser.login(CLIENT)
    page = browser.get(own)
    assert page.status_code == 200
    assert "125 · Over" in page.text and "+25.0%" in page.text
    chart = re.search(r'src="([^"]*volumes\.svg[^"]*)"', page.text).group(1).replace("&amp;", "&")
    assert browser.get(chart).headers["Content-Type"].startswith("image/svg+xml")
    assert browser.get(f"/accounts/{bravo.account.id}/contracts/{bravo['contract'].id}/volumes.svg").status_code == 404
    assert browser.get(f"/accounts/{bravo.account.id}/contracts/{bravo['contract'].id}/volumes").status_code == 404
    assert browser.get(f"/accounts/{alpha.account.id}/contracts/{bravo['contract'].id}/volumes").status_code == 404
    answer = client.get(f"/api/v1/contracts/{alpha['contract'].id}/volumes", headers=auth(CLIENT)).json
    assert answer["lines"][0]["months"][-1] == {"month": f"{LAST_MONTH:%Y-%m}", "quantity": "125",
                                                "variance": "0.2500", "flag": "over"}
    assert client.get(f"/api/v1/contracts/{bravo['contract'].id}/volumes", headers=auth(CLIENT)).status_code == 404


def test_the_api_imports_rows_all_or_nothing_and_only_for_the_firm(alpha, session, client, auth):
    before = volume_count(session)
    url = f"/api/v1/contracts/{alpha['contract'].id}/volumes"
    rows = [{"line": 1, "month": f"{LAST_MONTH:%Y-%m}", "quantity": "9"},
            {"line": 1, "month": f"{TWO_MONTHS_AGO:%Y-%m}", "quantity": "nine"}]
    refused = client.post(url, json={"rows": rows}, headers=auth(AM))
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {"rows.1.quantity": "not a number"}
    assert volume_count(session) == before
    assert client.post(url, json={"rows": rows[:1]}, headers=auth(CLIENT)).status_code == 403
    done = client.post(url, json={"rows": [rows[0], {"scope_line_id": alpha["scope_line"].id,
                                                     "month": f"{TWO_MONTHS_AGO:%Y-%m}", "quantity": 7.5}]},
                       headers=auth(AM))
    assert done.status_code == 200 and done.json == {"new": 2, "updated": 0}


# --- prices --------------------------------------------------------------------------------


def change_the_price(session, world, price: str, effective: date) -> ScopeLine:
    """A change request that modifies the world's scope line to ``price`` from
    ``effective``, approved by the client and implemented: the line that replaces it."""
    am, approver, old = world.user(Role.ACCOUNT_MANAGER), world.user(Role.CLIENT_APPROVER), world["scope_line"]
    cr = new_change_request(session, world["contract"], created_by=am, title={"en": "New payroll price"},
                            description={"en": "Payroll at a new price"}, in_scope=True, effective_date=effective)
    cr.lines.append(ChangeRequestLine(change=LineChange.MODIFY, scope_line_id=old.id, description=old.service,
                                      unit=old.unit, quantity=old.quantity, unit_price=Decimal(price)))
    submit(session, cr, world.account, am)
    decide(session, cr, world.account, approver, version=cr.version, decision=Decision.APPROVED,
           signature_name=approver.name)
    implement(session, cr, am)
    session.commit()
    return session.scalar(sa.select(ScopeLine).where(ScopeLine.added_by_change_request_id == cr.id))


def import_invoice(session, number: str, period: date, scope_line_id: int, unit_price: str) -> Invoice:
    """An invoice for ``period`` from the billing system, its one line naming the scope line."""
    issued = min(month_end(period) + timedelta(days=5), date.today())
    upsert_invoices(session, Incoming([validate_invoice({
        "number": number, "account": "Account Alpha", "service_location": "GB", "period_start": period.isoformat(),
        "period_end": month_end(period).isoformat(), "issue_date": issued.isoformat(),
        "due_date": (issued + timedelta(days=30)).isoformat(), "currency": "USD",
        "lines": [{"description": "Payroll", "quantity": "100", "unit_price": unit_price, "scope_line_id": scope_line_id}],
    })]))
    session.commit()
    return session.scalar(sa.select(Invoice).where(Invoice.number == number))


def test_an_invoice_line_at_the_old_price_after_an_implemented_change_request_is_held(alpha, session):
    old = alpha["scope_line"]
    new = change_the_price(session, alpha, "12.00", effective=TWO_MONTHS_AGO)
    held = import_invoice(session, "INV-OLD-PRICE", LAST_MONTH, old.id, "10.00")
    assert held.held_at is not None
    [line] = held.price_variances
    assert (line.expected_unit_price, line.unit_price, line.expected_amount, line.amount) == (12, 10, 1200, 1000)
    assert import_invoice(session, "INV-NEW-PRICE", LAST_MONTH, old.id, "12.00").held_at is None
    # Before the change request took effect, the old price stands, whichever line is named.
    assert import_invoice(session, "INV-BEFORE", THREE_MONTHS_AGO, new.id, "10.00").held_at is None
    # The billing system's corrected invoice releases it.
    assert import_invoice(session, "INV-OLD-PRICE", LAST_MONTH, old.id, "12.00").held_at is None


def test_a_held_invoice_is_hidden_from_the_client_until_finance_releases_it(alpha, session, browser, new_browser,
                                                                             client, auth):
    held = import_invoice(session, "INV-HELD", LAST_MONTH, alpha["scope_line"].id, "11.00")
    assert held.held_at is not None
    browser.login(CLIENT)
    for url in ("/invoices", "/invoices?status=issued", "/invoices?q=INV"):
        page = browser.get(url).text
        assert "INV-HELD" not in page and "1 invoice" in page and "2 invoices" not in page, url
    assert browser.get(f"/invoices/{held.id}").status_code == 404
    assert "INV-HELD" not in browser.get("/invoices/statement").text
    assert [i["number"] for i in client.get("/api/v1/invoices", headers=auth(CLIENT)).json["items"]] == ["INV-Alpha-0001"]
    assert client.get(f"/api/v1/invoices/{held.id}", headers=auth(CLIENT)).status_code == 404
    assert client.get("/api/v1/search?q=INV-HELD", headers=auth(CLIENT)).json["items"] == []

    waiting = client.get("/api/v1/inbox", headers=auth(FINANCE)).json["items"]
    assert [(i["kind"], i["id"]) for i in waiting if i["kind"] == "invoice_held"] == [("invoice_held", held.id)]
    assert all(i["kind"] != "invoice_held" for i in client.get("/api/v1/inbox", headers=auth(CLIENT)).json["items"])
    finance = new_browser()
    finance.login(FINANCE)
    assert "INV-HELD" in finance.get("/invoices?status=held").text
    detail = finance.get(f"/invoices/{held.id}").text
    assert "Prices against the contract" in detail and "$10.00" in detail and "$11.00" in detail
    assert client.get(f"/api/v1/invoices/{held.id}", headers=auth(FINANCE)).json["lines"][0]["expected_unit_price"] == "10.00"
    released = finance.post_form(f"/invoices/{held.id}/release", {"reason": "Agreed by e-mail: rush fee for the month"},
                                 page=f"/invoices/{held.id}", follow_redirects=True)
    assert "is released: the client sees it" in released.text, released.text
    session.rollback()
    assert session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "invoice.released")) is not None
    assert client.post(f"/api/v1/invoices/{held.id}/release", json={"reason": "again"},
                       headers=auth(FINANCE)).status_code == 409

    page = browser.get("/invoices").text
    assert "INV-HELD" in page and "2 invoices" in page
    assert all(i["kind"] != "invoice_held" for i in client.get("/api/v1/inbox", headers=auth(FINANCE)).json["items"])
    assert client.get(f"/api/v1/invoices/{held.id}", headers=auth(CLIENT)).status_code == 200


def test_a_released_invoice_sent_again_unchanged_stays_released_and_a_changed_price_is_held_again(alpha, session,
                                                                                                   client, auth):
    line = alpha["scope_line"].id
    held = import_invoice(session, "INV-AGAIN", LAST_MONTH, line, "11.00")
    release_invoice(session, held, alpha.user(Role.FINANCE), reason="Agreed by e-mail: rush fee for the month")
    session.commit()

    url = f"/api/v1/invoices/{held.id}"

    def seen_by_the_client() -> bool:
        session.rollback()  # the request writes (the token's use): start afresh after it (SQLite)
        seen = client.get(url, headers=auth(CLIENT)).status_code == 200
        session.rollback()
        return seen

    assert seen_by_the_client()
    # The billing system sends it again as it was: finance's release stands.
    assert import_invoice(session, "INV-AGAIN", LAST_MONTH, line, "11.00").held_at is None
    assert seen_by_the_client()
    # Another price is a new difference, for finance to review again.
    again = import_invoice(session, "INV-AGAIN", LAST_MONTH, line, "11.50")
    assert again.held_at is not None and [x.unit_price for x in again.price_variances] == [Decimal("11.50")]
    assert not seen_by_the_client()


def test_the_invoice_file_names_scope_lines_in_an_optional_column(alpha, session):
    header = "number,account,service_location,period_start,period_end,issue_date,due_date,currency," \
             "line_description,line_quantity,line_unit_price,line_scope_line_id"
    dates = f"{LAST_MONTH},{month_end(LAST_MONTH)},{date.today()},{date.today() + timedelta(days=30)}"
    line = alpha["scope_line"].id
    rows = [f"INV-FILE,Account Alpha,GB,{dates},USD,Payroll,100,10.00,{line}",
            f"INV-FILE,Account Alpha,GB,{dates},USD,Set-up,1,500.00,",
            f"INV-FILE,Account Alpha,GB,{dates},USD,Payroll again,1,10.00,999999"]
    with pytest.raises(ImportRefused) as refused:
        upsert_invoices(session, read_invoice_file("\n".join([header, *rows]).encode()))
    assert [str(p) for p in refused.value.problems] == [
        "line 4: line_scope_line_id: no scope line 999999 in contract MSA-Alpha-001"]
    session.rollback()
    upsert_invoices(session, read_invoice_file("\n".join([header, *rows[:2]]).encode()))
    session.commit()
    invoice = session.scalar(sa.select(Invoice).where(Invoice.number == "INV-FILE"))
    assert invoice.held_at is None
    assert [(x.scope_line_id, x.expected_unit_price) for x in invoice.lines] == [(line, Decimal("10.00")), (None, None)]
