"""The account import: ``flask import accounts FILE`` (CSV or XLSX) and the admin's page
``/accounts/import`` create accounts with their contracts and scope lines, one row per
scope line, all or nothing. Every problem is named by its line and column (the
services' own checks too), rows of one account or contract may not contradict each
other, and what the portal has already is refused; the page lists the problems in the
reader's language, and in a browser shows the upload's progress and then the job's (the import runs as the job
``account_import``)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from functools import partial

import openpyxl
import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.models import Account, AuditEvent, Contract, JobFile, Role, ScopeLine, Tier
from portal.onboarding.imports import COLUMNS
from tests import helpers
from tests.conftest import ROOT, csrf_token, screenshot, sign_in_page
from tests.factories import make_user
from tests.helpers import count, finish_jobs, latest, signed_in, translated, wait_until

ADMIN = "admin@firm.example"
AM = "account.manager@alpha.example"
LINGXIN = "Shenzhen Lingxin Electronics Co., Ltd."
MINH_PHAT = "Minh Phat Logistics JSC"
SAMPLE = ROOT / "portal" / "static" / "samples" / "accounts-import.csv"


def lingxin(**cells) -> dict:
    """The first row of the Chinese account: every account and contract column given."""
    return {
        "account": LINGXIN, "account_zh": "深圳灵芯电子有限公司", "country": "cn", "tier": "Key", "timezone": "Asia/Shanghai",
        "currency": "CNY", "document_languages": "en zh", "approval_threshold": "80000",
        "address": "12/F, Block B, Tian'an Cyber Park, Futian District, Shenzhen", "address_zh": "深圳市福田区天安数码城B座12楼",
        "tax_id": "91440300MA5F8K2X7Q", "representative": "Chen Jianguo", "representative_zh": "陈建国",
        "representative_title": "Chairman", "representative_title_zh": "董事长",
        "contract_number": "LX-2027-01", "contract_title": "Finance and payroll services", "contract_title_zh": "财务及薪资服务",
        "signed_on": "2026-11-20", "start_date": "2027-01-01", "end_date": "2029-12-31",
        "governing_law": "Laws of the People's Republic of China", "governing_law_zh": "中华人民共和国法律",
        "service": "Monthly bookkeeping", "service_zh": "月度记账", "quantity": "12", "unit": "entity-month",
        "unit_price": "32000.00", **cells,
    }


def line(account: str, number: str, service: tuple[str, str, str], quantity: str, unit: str, price: str,
         **cells) -> dict:
    """A follow-up row: only the account, the contract number and the scope line."""
    lang = {"zh": "service_zh", "vi": "service_vi"}[service[0]]
    return {"account": account, "contract_number": number, "service": service[1], lang: service[2],
            "quantity": quantity, "unit": unit, "unit_price": price, **cells}


def minh_phat(**cells) -> dict:
    return {
        "account": MINH_PHAT, "account_vi": "Công ty Cổ phần Logistics Minh Phát", "country": "VN",
        "timezone": "Asia/Ho_Chi_Minh", "currency": "VND", "document_languages": "en, vi",
        "approval_threshold": "1000000000", "tax_id": "0316543210", "representative": "Tran Minh Khoa",
        "representative_vi": "Trần Minh Khoa", "contract_number": "MP-2027-01",
        "contract_title": "Accounting and payroll services", "contract_title_vi": "Dịch vụ kế toán và tính lương",
        "start_date": "2027-01-01", "end_date": "2028-12-31",
        "service": "Payroll processing", "service_vi": "Tính lương", "quantity": "7200", "unit": "payslip",
        "unit_price": "95000", **cells,
    }


# Line 1 is the header: the rows are lines 2 to 6. Lingxin has two contracts; the
# follow-up rows leave the account's and the contract's columns blank, or repeat them.
GOOD_ROWS = [
    lingxin(),
    line(LINGXIN, "LX-2027-01", ("zh", "Payroll and individual income tax", "薪资及个人所得税"), "9600", "payslip", "42.5",
         country="CN", currency="CNY"),
    line(LINGXIN, "LX-2027-02", ("zh", "Managed IT service desk", "IT服务台托管服务"), "3000.125", "user-month", "160",
         contract_title="IT services", contract_title_zh="IT服务", start_date="2027-04-01", end_date="2028-03-31"),
    minh_phat(),
    line(MINH_PHAT, "MP-2027-01", ("vi", "Social insurance administration", "Quản lý bảo hiểm xã hội"), "7200",
         "employee-month", "40000"),
]

write_csv = partial(helpers.write_csv, columns=list(COLUMNS), name="accounts.csv")
import_file = partial(helpers.import_file, kind="accounts")


@pytest.fixture
def admin(admin, alpha):
    """The administrator, and Account Alpha (with contract MSA-Alpha-001) already in the portal."""
    return admin


def accounts(session) -> dict[str, Account]:
    """The accounts by their English names."""
    return {a.names["en"]: a for a in latest(session).scalars(sa.select(Account))}


def sizes(session) -> tuple[int, int, int]:
    latest(session)
    return count(session, Account), count(session, Contract), count(session, ScopeLine)


def services(contract: Contract) -> list[tuple[dict, Decimal, str, Decimal]]:
    return [(line.service, line.quantity, line.unit, line.unit_price) for line in contract.scope_lines]


def assert_imported(session) -> None:
    """What GOOD_ROWS (as CSV or as a workbook) makes, exactly."""
    made = accounts(session)
    china, vietnam = made[LINGXIN], made[MINH_PHAT]
    assert china.names == {"en": LINGXIN, "zh": "深圳灵芯电子有限公司"}
    assert (china.country, china.tier, china.timezone, china.currency, china.document_languages) == (
        "CN", Tier.KEY, "Asia/Shanghai", "CNY", ["en", "zh"])
    assert china.cr_approval_threshold == Decimal("80000")
    assert china.address == {"en": "12/F, Block B, Tian'an Cyber Park, Futian District, Shenzhen",
                             "zh": "深圳市福田区天安数码城B座12楼"}
    assert (china.tax_id, china.representative_name, china.representative_title) == (
        "91440300MA5F8K2X7Q", {"en": "Chen Jianguo", "zh": "陈建国"}, {"en": "Chairman", "zh": "董事长"})
    first, second = sorted(session.scalars(sa.select(Contract).where(Contract.account_id == china.id)),
                           key=lambda c: c.number)
    assert (first.number, first.title, first.currency) == ("LX-2027-01", {"en": "Finance and payroll services",
                                                                          "zh": "财务及薪资服务"}, "CNY")
    assert (first.signed_on, first.start_date, first.end_date) == (date(2026, 11, 20), date(2027, 1, 1),
                                                                   date(2029, 12, 31))
    assert first.governing_law == {"en": "Laws of the People's Republic of China", "zh": "中华人民共和国法律"}
    assert services(first) == [
        ({"en": "Monthly bookkeeping", "zh": "月度记账"}, Decimal(12), "entity-month", Decimal("32000")),
        ({"en": "Payroll and individual income tax", "zh": "薪资及个人所得税"}, Decimal(9600), "payslip", Decimal("42.5")),
    ]
    assert first.annual_value == Decimal("792000")  # 12 × 32,000 + 9,600 × 42.50
    assert (second.number, second.start_date, second.end_date, second.signed_on) == (
        "LX-2027-02", date(2027, 4, 1), date(2028, 3, 31), None)
    assert services(second) == [({"en": "Managed IT service desk", "zh": "IT服务台托管服务"}, Decimal("3000.125"),
                                 "user-month", Decimal(160))]
    assert vietnam.names == {"en": MINH_PHAT, "vi": "Công ty Cổ phần Logistics Minh Phát"}
    assert (vietnam.tier, vietnam.document_languages, vietnam.currency) == (Tier.STANDARD, ["en", "vi"], "VND")
    [contract] = session.scalars(sa.select(Contract).where(Contract.account_id == vietnam.id))
    assert (contract.number, contract.currency, contract.signed_on) == ("MP-2027-01", "VND", None)
    assert [s[0]["vi"] for s in services(contract)] == ["Tính lương", "Quản lý bảo hiểm xã hội"]
    assert [s[1] for s in services(contract)][0] == Decimal(7200)


# --- the command ---------------------------------------------------------------------------


def test_a_csv_file_creates_the_accounts_with_their_contracts_and_scope_lines(session, admin, runner, tmp_path):
    before = sizes(session)
    path = write_csv(tmp_path, GOOD_ROWS)
    result = import_file(runner, path)

    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 2 accounts, 3 contracts and 5 scope lines from {path}."
    assert sizes(session) == (before[0] + 2, before[1] + 3, before[2] + 5)
    assert_imported(session)
    created = session.scalars(sa.select(AuditEvent).where(AuditEvent.action.in_(["account.created",
                                                                                  "contract.created"]))).all()
    assert len(created) == 5 and {e.actor_email for e in created} == {ADMIN}


def test_an_excel_workbook_imports_as_the_csv_file_does_with_its_numbers_exact(session, admin, runner, tmp_path):
    """Numbers typed as numbers, numbers kept as text and dates typed as dates read as a
    person sees them: a float's tail (0.1 + 0.2) never reaches the database."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    typed = {"quantity": float, "approval_threshold": float, "start_date": date.fromisoformat,
             "end_date": date.fromisoformat, "signed_on": date.fromisoformat}
    for row in GOOD_ROWS:  # the unit prices stay text: "32000.00" is kept as typed
        sheet.append([typed[name](row[name]) if row.get(name) and name in typed else row.get(name) or None
                      for name in COLUMNS])
    sheet.cell(row=3, column=COLUMNS.index("unit_price") + 1, value=42.5)  # a number, not the text "42.5"
    sheet.cell(row=6, column=COLUMNS.index("quantity") + 1, value=2400.1 * 3)  # the float 7200.299999999999
    path = tmp_path / "accounts.xlsx"
    workbook.save(path)

    result = import_file(runner, str(path))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 2 accounts, 3 contracts and 5 scope lines from {path}."
    assert_imported(session)
    assert latest(session).scalar(sa.select(ScopeLine.quantity).where(ScopeLine.unit == "employee-month")) == \
        Decimal("7200.3")


def test_a_workbook_names_its_problems_by_row_number(session, admin, runner, tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["account", "country", "timezone", "currency", "contract_number", "contract_title", "start_date",
                  "end_date", "service", "quantity", "unit", "unit_price"])
    sheet.append([])  # a blank row is skipped; the rows keep their numbers
    sheet.append([MINH_PHAT, "VN", "Asia/Ho_Chi_Minh", "VND", "MP-1", "Payroll", date(2027, 1, 1), "2027-13-01",
                  "Payroll", 10, "payslip", "9.500,00"])
    path = tmp_path / "accounts.xlsx"
    workbook.save(path)
    result = import_file(runner, str(path))
    assert (result.exit_code, result.output.splitlines()) == (2, ["line 3: end_date: not a valid date (YYYY-MM-DD)",
                                                                  "line 3: unit_price: not a number"])


def test_a_csv_file_with_or_without_a_bom_imports(session, admin, runner, tmp_path):
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows(GOOD_ROWS[3:])
    with_bom, without = tmp_path / "bom.csv", tmp_path / "plain.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode())
    assert import_file(runner, str(with_bom)).exit_code == 0
    without.write_bytes(out.getvalue().replace(MINH_PHAT, "Minh Phat Freight JSC").replace("MP-2027-01", "MP-2027-09")
                        .replace("Logistics Minh Phát", "Vận tải Minh Phát").encode())
    assert import_file(runner, str(without)).exit_code == 0
    assert {MINH_PHAT, "Minh Phat Freight JSC"} <= set(accounts(session))


def with_rows(*changes: tuple[int, dict]) -> list[dict]:
    """GOOD_ROWS with the row on each given line (the file's line) changed."""
    rows = [dict(r) for r in GOOD_ROWS]
    for number, cells in changes:
        rows[number - 2].update(cells)
    return rows


BAD_ROWS = {
    "quantity not a number": ((3, {"quantity": "9,600"}), "line 3: quantity: not a number"),
    "quantity with 5 decimals": ((4, {"quantity": "1.12345"}), "line 4: quantity: at most 4 decimal places"),
    "negative quantity (the service's rule)": ((6, {"quantity": "-1"}), "line 6: quantity: a positive number"),
    "missing unit price": ((3, {"unit_price": ""}), "line 3: unit_price: required"),
    "unit price in fen": ((3, {"unit_price": "42.505"}), "line 3: unit_price: at most 2 decimal places in CNY"),
    "unit price in hào": ((6, {"unit_price": "40000.5"}), "line 6: unit_price: a whole number in VND"),
    "threshold in fractions of a dong": ((5, {"approval_threshold": "1000000000.5"}),
                                         "line 5: approval_threshold: a whole number in VND"),
    "unknown tier": ((2, {"tier": "gold"}), "line 2: tier: one of strategic, key, standard"),
    "a date in another format": ((5, {"start_date": "01/01/2027"}), "line 5: start_date: not a valid date (YYYY-MM-DD)"),
    "no such day": ((4, {"end_date": "2028-02-30"}), "line 4: end_date: not a valid date (YYYY-MM-DD)"),
    "missing start date": ((5, {"start_date": ""}), "line 5: start_date: required"),
    "missing time zone": ((5, {"timezone": ""}), "line 5: timezone: required"),
    "missing contract number": ((6, {"contract_number": ""}), "line 6: contract_number: required"),
    "unknown country (the service's rule)": ((5, {"country": "XV"}), "line 5: country: not an ISO 3166 country code"),
    "unknown time zone": ((2, {"timezone": "China/Shenzhen"}), "line 2: timezone: not a time zone (e.g. Asia/Shanghai)"),
    "a document language the portal has not": ((5, {"document_languages": "en vi fr"}),
                                                "line 5: document_languages: each one of en, zh, vi"),
    "a document language without the name in it": ((2, {"account_zh": ""}), "line 2: account_zh: required"),
    "a scope line without its text in a document language": ((4, {"service_zh": ""}), "line 4: service_zh: required"),
    "a contract's title missing in a document language": (
        (4, {"contract_title_zh": ""}), "line 4: contract_title_zh: required"),
    "a unit missing": ((3, {"unit": ""}), "line 3: unit: required"),
    "a title too long": ((5, {"contract_title": "T" * 201}), "line 5: contract_title: at most 200 characters"),
    "end before start": ((4, {"end_date": "2027-03-31"}), "line 4: end_date: before the start date"),
    "signed after the end": ((2, {"signed_on": "2030-01-01"}), "line 2: signed_on: after the end date"),
    "a representative's title without the name": ((5, {"representative": "", "representative_vi": "",
                                                        "representative_title": "Director"}),
                                                  "line 5: representative: required with a title"),
}


@pytest.mark.parametrize("change, expected", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_one_bad_cell_refuses_the_file_naming_its_line_and_column(session, admin, runner, tmp_path, change, expected):
    before = sizes(session)
    result = import_file(runner, write_csv(tmp_path, with_rows(change)))
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [expected]
    assert sizes(session) == before


def test_a_file_with_several_problems_writes_nothing_and_names_every_one_in_line_order(session, admin, runner,
                                                                                      tmp_path):
    before = sizes(session)
    rows = with_rows((2, {"account_zh": ""}), (3, {"unit_price": "abc", "quantity": "0"}),
                     (5, {"country": "", "start_date": "2027-1-1"}), (6, {"service_vi": ""}))
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "line 2: account_zh: required",
        "line 3: quantity: a positive number",
        "line 3: unit_price: not a number",
        "line 5: country: required",
        "line 5: start_date: not a valid date (YYYY-MM-DD)",
        "line 6: service_vi: required",
    ]
    assert sizes(session) == before
    assert not latest(session).scalars(sa.select(AuditEvent).where(AuditEvent.action == "account.created")).all()


def test_rows_of_one_account_or_contract_that_contradict_each_other_are_refused(session, admin, runner, tmp_path):
    rows = with_rows((3, {"country": "HK", "currency": "cny", "tier": "key"}),  # the same CNY and tier, another country
                     (4, {"account": LINGXIN.upper()}),
                     (6, {"end_date": "2029-12-31", "contract_title": "Accounting and payroll services"}))
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "line 3: country: 'HK' differs from line 2 ('cn') for the same account",
        f"line 4: account: {LINGXIN.upper()!r} differs from line 2 ({LINGXIN!r}) for the same account",
        "line 6: end_date: '2029-12-31' differs from line 5 ('2028-12-31') for the same contract",
    ]


def test_a_contract_number_under_two_accounts_is_refused(session, admin, runner, tmp_path):
    result = import_file(runner, write_csv(tmp_path, with_rows((6, {"contract_number": "LX-2027-01"}))))
    assert result.exit_code == 2
    assert result.output.splitlines() == ["line 6: contract_number: LX-2027-01 is on line 2 for another account"]


def test_an_account_or_a_contract_number_the_portal_has_is_refused_this_import_only_creates(
        session, admin, runner, tmp_path):
    before = sizes(session)
    rows = with_rows((5, {"account": "ACCOUNT ALPHA"}), (6, {"account": "ACCOUNT ALPHA"}),
                     (4, {"contract_number": "MSA-Alpha-001"}))
    result = import_file(runner, write_csv(tmp_path, rows))
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "line 4: contract_number: already in the portal: this import only creates contracts",
        "line 5: account: already in the portal: this import only creates accounts",
    ]
    assert sizes(session) == before

    path = write_csv(tmp_path, GOOD_ROWS)
    assert import_file(runner, path).exit_code == 0
    again = import_file(runner, path)
    assert again.exit_code == 2
    assert "line 2: account: already in the portal: this import only creates accounts" in again.output.splitlines()
    assert "line 4: contract_number: already in the portal: this import only creates contracts" in again.output


def test_a_wrong_header_or_file_is_refused_at_once(session, admin, runner, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("account,country,timezone,currency,contract,contract_title,start_date,end_date,service,"
                     "quantity,unit,unit_price\n", encoding="utf-8")
    result = import_file(runner, str(wrong))
    assert (result.exit_code, result.output.splitlines()) == (2, ["line 1: contract: unknown column",
                                                                  "line 1: contract_number: missing column"])
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    result = import_file(runner, str(broken))
    assert (result.exit_code, result.output.strip()) == (2, "file: not an Excel workbook (.xlsx) that can be read")


def test_the_audit_log_names_the_administrator_the_command_imports_as(session, admin, runner, tmp_path):
    make_user(session, "second.admin@firm.example", Role.ADMIN)
    session.commit()
    path = write_csv(tmp_path, GOOD_ROWS)
    unsure = runner.invoke(args=["import", "accounts", path])
    assert unsure.exit_code == 2 and "say which administrator imports" in unsure.output
    not_admin = runner.invoke(args=["import", "accounts", path, "--as", AM])
    assert not_admin.exit_code == 2 and f"{AM} is not an active administrator" in not_admin.output
    assert runner.invoke(args=["import", "accounts", path, "--as", "Second.Admin@firm.example"]).exit_code == 0
    actors = latest(session).scalars(sa.select(AuditEvent.actor_email).where(AuditEvent.action == "account.created"))
    assert set(actors) == {"second.admin@firm.example"}


def test_the_sample_file_imports(session, admin, runner):
    result = import_file(runner, str(SAMPLE))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Imported 2 accounts, 2 contracts and 7 scope lines from {SAMPLE}."
    made = accounts(session)
    assert made["Shenzhen Lingxin Electronics Co., Ltd."].name_in("zh") == "深圳灵芯电子有限公司"
    assert made["Minh Phat Logistics Joint Stock Company"].name_in("vi") == "Công ty Cổ phần Logistics Minh Phát"


# --- the page --------------------------------------------------------------------------------

PAGE = "/accounts/import"


def upload(browser, rows: list[dict] | None = None, *, content: bytes | None = None, name: str = "accounts.csv"):
    if content is None:
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        content = out.getvalue().encode("utf-8-sig")
    page = browser.get(PAGE).text
    return browser.client.post(PAGE, data={"csrf_token": csrf_token(page), "once": _once(page),
                                           "file": (io.BytesIO(content), name)})


def imported(app, browser, rows: list[dict] | None = None, **file) -> tuple[str, dict]:
    """Upload a file, wait for its job to end: the job's page and what that page polls."""
    answer = upload(browser, rows, **file)
    assert answer.status_code == 302, answer.text
    job_page = answer.headers["Location"]
    assert re.fullmatch(f"{PAGE}/[\\w-]+", job_page), job_page
    finish_jobs(app)
    status = browser.get(f"/jobs/{job_page.rsplit('/', 1)[1]}")
    assert status.status_code == 200
    return job_page, status.json


def _once(page: str) -> str:
    import re

    return re.search(r'name="once" type="hidden" value="([^"]+)"', page).group(1)


def test_the_page_offers_a_form_with_csrf_and_the_sample_and_the_accounts_list_links_to_it(session, admin,
                                                                                         new_browser):
    admin_browser = signed_in(new_browser, ADMIN)
    page = admin_browser.get(PAGE)
    assert page.status_code == 200
    assert csrf_token(page.text) and 'type="file"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert 'href="/static/samples/accounts-import.csv" download' in page.text
    sample = admin_browser.get("/static/samples/accounts-import.csv")
    assert sample.status_code == 200 and sample.data == SAMPLE.read_bytes()
    sample.close()
    assert f'href="{PAGE}"' in admin_browser.get("/accounts").text
    assert f'href="{PAGE}"' not in signed_in(new_browser, AM).get("/accounts").text


def test_an_imported_file_runs_as_a_job_that_ends_with_the_counts_and_the_accounts(app, session, admin, new_browser):
    browser = signed_in(new_browser, ADMIN)
    job_page, status = imported(app, browser, GOOD_ROWS)
    assert status["status"] == "finished", status
    assert status["message"] == "Imported 2 accounts, 3 contracts and 5 scope lines."
    assert status["result_url"] == "/accounts"
    page = browser.get(job_page).text
    assert "Imported 2 accounts, 3 contracts and 5 scope lines." in page and 'data-job-result href="/accounts"' in page
    listing = browser.get("/accounts").text
    # Listed by their registered names, Chinese and Vietnamese.
    assert "深圳灵芯电子有限公司" in listing and "Công ty Cổ phần Logistics Minh Phát" in listing
    assert_imported(session)
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(JobFile)) == 0  # the file went with the job


def test_a_workbook_imports_through_the_page(app, session, admin, new_browser):
    workbook = openpyxl.Workbook()
    workbook.active.append(list(COLUMNS))
    for row in GOOD_ROWS:
        workbook.active.append([row.get(name) or None for name in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    _, status = imported(app, signed_in(new_browser, ADMIN), content=out.getvalue(), name="onboarding.xlsx")
    assert status["status"] == "finished", status
    assert_imported(session)


def test_a_refused_file_ends_with_every_problem_by_row_and_column_and_writes_nothing(app, session, admin,
                                                                                      new_browser):
    before = sizes(session)
    browser = signed_in(new_browser, ADMIN)
    job_page, status = imported(app, browser, with_rows((3, {"unit_price": "abc"}), (5, {"country": "XV"})))
    assert status["status"] == "failed" and status["message"] == "2 problems: nothing was imported"
    assert [(p["row"], p["column"]) for p in status["problems"]] == [(3, "unit_price"), (5, "country")]
    rows = [" ".join(cells.split()) for cells in _problem_rows(browser.get(job_page).text)]
    assert rows == ["3 unit_price not a number", "5 country not an ISO 3166 country code"]
    assert sizes(session) == before


def _problem_rows(html: str) -> list[str]:
    import re

    table = html.split("data-job-problems", 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)]


def test_the_problems_and_the_counts_are_in_the_readers_language(app, session, admin, new_browser):
    admin.language = "zh"
    session.commit()
    browser = signed_in(new_browser, ADMIN)
    job_page, status = imported(app, browser, with_rows((3, {"unit_price": "abc"}), (4, {"end_date": "2027-03-31"})))
    page = browser.get(job_page).text
    assert translated("zh", "Row") in page and translated("zh", "Problem") in page
    rows = [" ".join(cells.split()) for cells in _problem_rows(page)]
    assert rows == [f"3 unit_price {translated('zh', 'not a number')}",
                    f"4 end_date {translated('zh', 'before the start date')}"]
    _, status = imported(app, browser, GOOD_ROWS)
    assert status["message"] == flash_of_good_rows("zh")


def test_an_upload_that_is_no_spreadsheet_is_refused_beside_the_file(session, admin, new_browser):
    browser = signed_in(new_browser, ADMIN)
    answer = upload(browser, content=b"%PDF-1.7 a scanned contract", name="contract.pdf")
    assert answer.status_code == 200
    assert "contract.pdf is neither a CSV file nor an Excel workbook (.xlsx)." in answer.text
    assert 'id="file-errors"' in answer.text
    missing = browser.client.post(PAGE, data={"csrf_token": csrf_token(browser.get(PAGE).text)})
    assert missing.status_code == 200 and "Choose a file to import." in missing.text


def test_only_the_admin_imports_accounts(session, admin, new_browser):
    manager = signed_in(new_browser, AM)
    assert manager.get(PAGE).status_code == 403
    csrf = csrf_token(manager.get("/accounts").text)
    before = sizes(session)
    refused = manager.client.post(PAGE, data={"csrf_token": csrf, "file": (io.BytesIO(b"account\n"), "a.csv")})
    assert refused.status_code == 403
    assert sizes(session) == before


def test_a_post_without_the_csrf_token_is_refused(session, admin, new_browser):
    browser = signed_in(new_browser, ADMIN)
    before = sizes(session)
    answer = browser.client.post(PAGE, data={"file": (io.BytesIO(SAMPLE.read_bytes()), "sample.csv")})
    assert answer.status_code == 400
    assert sizes(session) == before


# --- in a real browser ------------------------------------------------------------------------


def flash_of_good_rows(language: str) -> str:
    """The flash GOOD_ROWS leaves, in ``language``."""
    catalog = helpers.translations(language)
    counts = {"accounts": catalog.ngettext("%(num)s account", "%(num)s accounts", 2) % {"num": 2},
              "contracts": catalog.ngettext("%(num)s contract", "%(num)s contracts", 3) % {"num": 3},
              "lines": catalog.ngettext("%(num)s scope line", "%(num)s scope lines", 5) % {"num": 5}}
    return catalog.gettext("Imported %(accounts)s, %(contracts)s and %(lines)s.") % counts


@pytest.fixture
def held_import(monkeypatch):
    """An event: while it is clear, the import's job, once it has read the file, waits to
    create the accounts until the test sets it."""
    import threading

    from portal.onboarding import imports

    go = threading.Event()
    go.set()
    create = imports.create_accounts

    def waiting(*args, **kwargs):
        assert go.wait(30), "the test never let the import go"
        return create(*args, **kwargs)

    monkeypatch.setattr(imports, "create_accounts", waiting)
    yield go
    go.set()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_upload_shows_its_progress_and_the_refused_list_fits_a_desktop_and_a_phone(
        page, session, admin, tmp_path, held_import, language):
    admin.language = language
    session.commit()
    bad = write_csv(tmp_path, with_rows((2, {"account_zh": ""}), (3, {"unit_price": "42,50"}),
                                        (4, {"end_date": "2027-03-31", "contract_title": "Managed IT " * 25}),
                                        (5, {"country": "XV", "timezone": "Asia/Saigon City"}),
                                        (6, {"account": MINH_PHAT.upper()})))
    sign_in_page(page, ADMIN)
    page.goto(PAGE)
    page.set_input_files("input[type=file]", bad)
    page.locator("form[data-upload-progress] input[type=submit]").click()
    page.wait_for_url(f"**{PAGE}/*")
    page.locator(".job[data-status=failed]").wait_for()
    expect(page.locator("[data-job-problems] tbody tr")).to_have_count(7)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the refused list is {overflow}px wider than a {width}px screen"
        screenshot(page, f"accounts-import-refused-{language}-{width}")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The file is up and the job at work: its bar moves without reloading the page.
    held_import.clear()
    page.evaluate("window.notReloaded = true")
    page.set_input_files("input[type=file]", write_csv(tmp_path, GOOD_ROWS))
    page.locator("form[data-upload-progress] input[type=submit]").click()
    reading = translated(language, "Reading the file") if language != "en" else "Reading the file"
    expect(page.locator("[data-job-message]")).to_have_text(reading)
    assert 0 < page.locator(".job progress").evaluate("b => b.value") < 1
    assert page.locator("[data-job-result]").is_hidden()
    screenshot(page, f"accounts-import-progress-{language}")
    held_import.set()
    page.locator("[data-job-result]").wait_for(state="visible")
    assert page.evaluate("window.notReloaded")
    assert page.locator("[data-job-message]").inner_text() == flash_of_good_rows(language)
    page.locator("[data-job-result]").click()
    page.wait_for_url("**/accounts")
    assert "深圳灵芯电子有限公司" in page.content()
    assert_imported(session)


@pytest.mark.browser
def test_without_javascript_the_form_posts_as_any_other(chromium, live_server, session, admin, tmp_path):
    context = chromium.new_context(base_url=live_server, java_script_enabled=False)
    tab = context.new_page()
    try:
        sign_in_page(tab, ADMIN)
        tab.goto(PAGE)
        assert tab.locator(".upload-progress").is_hidden()
        tab.set_input_files("input[type=file]", write_csv(tmp_path, with_rows((3, {"unit_price": "abc"}))))
        tab.locator("form[data-upload-progress] input[type=submit]").click()
        tab.wait_for_url(f"**{PAGE}/*")
        wait_until(lambda: tab.reload() and tab.locator(".job").get_attribute("data-status") == "failed")
        assert tab.locator("[data-job-problems] tbody tr").count() == 1
        tab.set_input_files("input[type=file]", write_csv(tmp_path, GOOD_ROWS))
        tab.locator("form[data-upload-progress] input[type=submit]").click()
        tab.wait_for_url(f"**{PAGE}/*")
        wait_until(lambda: tab.reload() and tab.locator(".job").get_attribute("data-status") == "finished")
        assert tab.locator("[data-job-message]").inner_text() == flash_of_good_rows("en")
    finally:
        context.close()
