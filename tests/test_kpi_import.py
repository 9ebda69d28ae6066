"""The KPI actuals import (``flask import kpis FILE.csv``): upsert by KPI and month, all or
nothing per file with each problem named by line and column, the contract in force that
month, and the scorecard showing what was imported."""

from __future__ import annotations

import csv
import unicodedata
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa

from portal.kpis.imports import read_kpi_csv, upsert_kpi_actuals
from portal.kpis.service import previous_month, scorecard
from portal.models import Account, KpiMeasurement
from tests import helpers
from tests.conftest import ROOT

COLUMNS = ["account", "kpi", "month", "actual", "comment"]
THIS_MONTH = date.today().replace(day=1)
LAST_MONTH = previous_month(THIS_MONTH)
LONG_AGO = THIS_MONTH.replace(year=THIS_MONTH.year - 3)  # before the fixtures' contracts


def row(account: str = "Account Alpha", kpi: str = "OTP", month: date = LAST_MONTH, actual: str = "99.25",
        comment: str = "") -> dict:
    return {"account": account, "kpi": kpi, "month": f"{month:%Y-%m}", "actual": actual, "comment": comment}


# Line 1 is the header: the rows are lines 2 to 4. build_account gave Alpha and Bravo
# an actual of 98.5 for this month, so line 3 updates and the others are new.
GOOD_ROWS = [
    row(),
    row(month=THIS_MONTH, actual="97.1234", comment="Two late payslips, Leeds: see request SR-12"),
    row("Account Bravo", actual="100", comment="Đúng hạn, 按时"),
]


# The shared CSV writer and import command, for this module's columns and command.
write_csv = partial(helpers.write_csv, columns=COLUMNS, name="kpis.csv")
import_file = partial(helpers.import_file, kind="kpis")


def actuals(session) -> dict[tuple[str, str, date], tuple[Decimal, str]]:
    """Every actual, by account name, KPI code and month (after ending the test
    session's transaction, so that it sees what the command committed)."""
    session.rollback()
    rows = session.scalars(sa.select(KpiMeasurement))
    return {(m.kpi.contract.account.name, m.kpi.code, m.period): (m.actual, m.comment) for m in rows}


# --- the command ----------------------------------------------------------------------


def test_a_good_file_imports_then_imports_again_as_updates(worlds, session, runner, tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    result = import_file(runner, path)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 3 KPI actuals (2 new, 1 updated) from {path}."
    assert actuals(session) == {
        ("Account Alpha", "OTP", LAST_MONTH): (Decimal("99.2500"), ""),
        ("Account Alpha", "OTP", THIS_MONTH): (Decimal("97.1234"), "Two late payslips, Leeds: see request SR-12"),
        ("Account Bravo", "OTP", LAST_MONTH): (Decimal("100.0000"), "Đúng hạn, 按时"),
        ("Account Bravo", "OTP", THIS_MONTH): (Decimal("98.5000"), ""),
    }
    first_import = session.scalar(sa.select(KpiMeasurement.imported_at).where(KpiMeasurement.period == LAST_MONTH))

    changed = [dict(GOOD_ROWS[0], actual="98", comment="Corrected by the payroll team"), *GOOD_ROWS[1:]]
    result = import_file(runner, write_csv(tmp_path, changed))
    assert result.exit_code == 0, result.output
    assert "Imported 3 KPI actuals (0 new, 3 updated)" in result.output
    after = actuals(session)
    assert len(after) == 4
    assert after["Account Alpha", "OTP", LAST_MONTH] == (Decimal("98.0000"), "Corrected by the payroll team")
    assert session.scalar(sa.select(KpiMeasurement.imported_at).where(KpiMeasurement.period == LAST_MONTH,
                                                                      KpiMeasurement.comment != "")) >= first_import


def test_an_import_of_the_past_keeps_its_import_time(worlds, session):
    """What was imported earlier (the demo's year of actuals) keeps when it was."""
    earlier = datetime(2026, 2, 5, 2, tzinfo=timezone.utc)
    incoming = read_kpi_csv(f"account,kpi,month,actual\nAccount Alpha,OTP,{LAST_MONTH:%Y-%m},99\n".encode())
    assert upsert_kpi_actuals(session, incoming, now=earlier).new == 1
    assert session.scalar(sa.select(KpiMeasurement.imported_at).where(KpiMeasurement.period == LAST_MONTH,
                                                                      KpiMeasurement.account_id == worlds[0].account.id)) == earlier


def test_the_scorecard_shows_the_imported_actual(worlds, session, runner, tmp_path):
    assert import_file(runner, write_csv(tmp_path, GOOD_ROWS[:2])).exit_code == 0
    session.rollback()
    alpha = session.scalar(sa.select(Account).where(Account.name == "Account Alpha"))

    card = scorecard(session, alpha, THIS_MONTH)
    (otp,) = card.rows
    assert (otp.kpi.code, otp.actual, otp.comment) == ("OTP", Decimal("97.1234"),
                                                      "Two late payslips, Leeds: see request SR-12")
    assert (otp.attainment, otp.status) == (Decimal("0.9810"), "amber")  # 97.1234 / 99, within 5 %
    assert otp.change == Decimal("0.9810") - Decimal("1.0025")  # last month: 99.25 / 99
    assert scorecard(session, alpha, LAST_MONTH).rows[0].status == "green"


def with_row(line: int, cells: dict) -> list[dict]:
    """The good file with its row on ``line`` (the file's line) changed, or with a row
    added on the line after its last."""
    rows = [dict(r) for r in GOOD_ROWS]
    if line - 2 < len(rows):
        rows[line - 2].update(cells)
    else:
        rows.append(cells)
    return rows


BAD_ROWS = {
    "unknown account": (3, {"account": "Account Nobody"}, "line 3: account: no such account"),
    "missing account": (3, {"account": ""}, "line 3: account: required"),
    "unknown KPI code": (4, {"kpi": "OTD"}, "line 4: kpi: no KPI OTD in contract MSA-Bravo-001"),
    "KPI code in another case": (2, {"kpi": "otp"}, "line 2: kpi: no KPI otp in contract MSA-Alpha-001"),
    "missing KPI code": (2, {"kpi": ""}, "line 2: kpi: required"),
    "month without its leading zero": (2, {"month": "2026-3"}, "line 2: month: not a valid month (YYYY-MM)"),
    "month thirteen": (2, {"month": "2026-13"}, "line 2: month: not a valid month (YYYY-MM)"),
    "a date, not a month": (2, {"month": LAST_MONTH.isoformat()}, "line 2: month: not a valid month (YYYY-MM)"),
    "month in another format": (2, {"month": f"{LAST_MONTH:%m/%Y}"}, "line 2: month: not a valid month (YYYY-MM)"),
    "month outside the contract": (3, {"month": f"{LONG_AGO:%Y-%m}"},
                                   f"line 3: month: no contract of Account Alpha is in force in {LONG_AGO:%Y-%m}"),
    "actual not a number": (3, {"actual": "ninety"}, "line 3: actual: not a number"),
    "decimal comma": (3, {"actual": "97,5"}, "line 3: actual: not a number"),
    "actual with an exponent": (3, {"actual": "1e2"}, "line 3: actual: not a number"),
    "missing actual": (3, {"actual": ""}, "line 3: actual: required"),
    "negative actual": (4, {"actual": "-0.5"}, "line 4: actual: must not be negative"),
    "five decimals": (2, {"actual": "99.12345"}, "line 2: actual: at most 4 decimal places"),
    "too large": (2, {"actual": "1" + "0" * 14}, "line 2: actual: too large"),
    "the same KPI and month twice": (5, row(actual="50"),
                                     f"line 5: kpi: OTP of Account Alpha for {LAST_MONTH:%Y-%m} is on line 2 too"),
}


@pytest.mark.parametrize("line, cells, expected", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_a_file_with_one_bad_row_writes_nothing_and_names_the_line_and_column(worlds, session, runner, tmp_path,
                                                                             line, cells, expected):
    before = actuals(session)
    result = import_file(runner, write_csv(tmp_path, with_row(line, cells)))

    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert len(result.output.strip().splitlines()) == 1  # one line per problem, and only the one bad row
    assert actuals(session) == before


def test_every_problem_of_a_file_is_listed_in_line_order(worlds, session, runner, tmp_path):
    rows = with_row(4, {"account": "Nobody", "month": "last month"})
    rows[0]["actual"] = "x"
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "line 2: actual: not a number",
        "line 4: month: not a valid month (YYYY-MM)",  # the account is checked once the row reads well
    ]


def test_a_row_with_a_cell_too_many_writes_nothing(worlds, session, runner, tmp_path):
    before = actuals(session)
    path = write_csv(tmp_path, GOOD_ROWS)
    with open(path, "a", encoding="utf-8") as file:
        file.write(f"Account Bravo,OTP,{THIS_MONTH:%Y-%m},99,\"fine, thanks\",extra\n")
    result = import_file(runner, path)
    assert (result.exit_code, result.output.strip()) == (2, "line 5: row: 6 cells, but the header has 5 columns")
    assert actuals(session) == before


def test_a_file_that_is_not_utf8_or_has_a_wrong_header_is_refused(worlds, runner, tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(b"account,kpi,month,actual\nSoci\xe9t\xe9,OTP,2026-10,1\n")
    result = import_file(runner, str(latin1))
    assert (result.exit_code, result.output.strip()) == (2, "line 2: file: not UTF-8 text")

    wrong = tmp_path / "wrong.csv"
    wrong.write_text("\naccount,kpi,period,actual\n", encoding="utf-8")
    result = import_file(runner, str(wrong))
    assert (result.exit_code, result.output.splitlines()) == (2, ["line 2: month: missing column",
                                                                  "line 2: period: unknown column"])


def test_a_missing_file_exits_2(worlds, runner, tmp_path):
    result = import_file(runner, str(tmp_path / "nowhere.csv"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def _in_every_demo_contract(first: date) -> bool:
    from portal import demo

    starts = [(demo.month_start(date.today(), spec.started_months_ago), spec.term_months) for spec in demo.ACCOUNTS]
    return all(start <= first < demo.month_start(start, -term) for start, term in starts)


def test_the_sample_file_imports_into_the_demo_database(runner, session, tmp_path):
    """The sample holds the month before it was written. The demo contracts span today,
    so for a while that month is in their terms and the file imports as it is; it is
    imported again with its month moved to this test's last month (always covered) and
    the Vietnamese name decomposed, as some tools export it."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    sample = ROOT / "samples" / "kpis.csv"
    with sample.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == COLUMNS
    (month,) = {r["month"] for r in rows}
    if _in_every_demo_contract(date.fromisoformat(f"{month}-01")):
        result = import_file(runner, str(sample))
        assert result.exit_code == 0, result.output
        assert result.output.startswith("Imported 15 KPI actuals (")

    moved = [dict(r, month=f"{LAST_MONTH:%Y-%m}", account=unicodedata.normalize("NFD", r["account"])) for r in rows]
    path = write_csv(tmp_path, moved)
    result = import_file(runner, path)
    assert result.exit_code == 0, result.output
    # The demo has a year of actuals up to last month: the sample corrects them.
    assert result.output.strip() == f"Imported 15 KPI actuals (0 new, 15 updated) from {path}."
    session.rollback()
    sao_viet = session.scalar(sa.select(Account).where(Account.name == "Công ty TNHH Sao Việt"))
    close = next(r for r in scorecard(session, sao_viet, LAST_MONTH).rows if r.kpi.code == "CLOSE")
    assert (close.actual, close.status) == (Decimal("5.5000"), "green")
    assert close.comment.startswith("Khóa sổ chậm nửa ngày")
