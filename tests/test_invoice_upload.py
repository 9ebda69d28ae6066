"""Finance's upload page for the invoice import (``/invoices/import``): a CSV file or an
Excel workbook goes up, the import runs as the job ``invoice_import``, all or nothing as
on the command line, and the page follows it to the counts and the invoices, or to every
problem by row and column in the reader's language with nothing written. The file lives
as long as the job; a retried or re-delivered job writes once; only finance and admins
import, and only who started an import (and admins) follow it. In Chromium, the upload's
bar and then the job's reach the end without reloading."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.billing import imports
from portal.jobs.core import attempt
from portal.models import Invoice, Job, JobFile, JobStatus
from tests.conftest import ROOT, csrf_token, screenshot, sign_in_page
from tests.helpers import finish_jobs, latest, signed_in, translated, translations, wait_until
from tests.test_invoice_import import COLUMNS, GOOD_ROWS, add_gamma, invoice, invoice_row, row_counts, xlsx_bytes

PAGE = "/invoices/import"
ADMIN = "admin@firm.example"
FINANCE = "finance@alpha.example"
SAMPLE = ROOT / "portal" / "static" / "samples" / "invoices.csv"
IMPORTED_GOOD_ROWS = "Imported 3 invoices (3 new, 0 updated) and 1 credit note."
# Alpha's rows only: what Alpha's finance user may import.
ALPHA_ROWS = [row for row in GOOD_ROWS if row["account"] == "Account Alpha"]


@pytest.fixture
def worlds(worlds, session):
    """Alpha and Bravo, and Account Gamma with its VND contract, as the command's tests have them."""
    add_gamma(session)
    return worlds


def csv_bytes(rows: list[dict]) -> bytes:
    """``rows`` as Excel saves a CSV file (UTF-8 with a BOM)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def upload(browser, content: bytes, name: str = "invoices.csv"):
    page = browser.get(PAGE).text
    once = re.search(r'name="once" type="hidden" value="([^"]+)"', page).group(1)
    return browser.client.post(PAGE, data={"csrf_token": csrf_token(page), "once": once,
                                           "file": (io.BytesIO(content), name)})


def imported(app, browser, content: bytes, name: str = "invoices.csv") -> tuple[str, dict]:
    """Upload ``content``, wait for its job to end; the job's id and what its page polls."""
    answer = upload(browser, content, name)
    assert answer.status_code == 302, answer.text
    job_id = answer.headers["Location"].rsplit("/", 1)[1]
    assert answer.headers["Location"] == f"{PAGE}/{job_id}"
    finish_jobs(app)
    status = browser.get(f"/jobs/{job_id}")
    assert status.status_code == 200
    return job_id, status.json


def job_files(session) -> int:
    return latest(session).scalar(sa.select(sa.func.count()).select_from(JobFile))


def job_count(session) -> int:
    return latest(session).scalar(sa.select(sa.func.count()).select_from(Job))


def problem_rows(html: str) -> list[str]:
    table = html.split("data-job-problems", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


# --- the page -----------------------------------------------------------------------------------


def test_the_page_offers_a_form_with_csrf_and_the_sample_and_the_invoice_list_links_to_it(app, worlds, admin,
                                                                                         new_browser):
    for email in (FINANCE, ADMIN):
        browser = signed_in(new_browser, email)
        page = browser.get(PAGE)
        assert page.status_code == 200
        assert csrf_token(page.text) and 'type="file"' in page.text and 'enctype="multipart/form-data"' in page.text
        assert 'href="/static/samples/invoices.csv" download' in page.text
        assert f'href="{PAGE}"' in browser.get("/invoices").text
    sample = browser.get("/static/samples/invoices.csv")
    assert sample.status_code == 200 and sample.data == SAMPLE.read_bytes()
    sample.close()
    for email in ("account.manager@alpha.example", "client.approver@alpha.example"):
        assert f'href="{PAGE}"' not in signed_in(new_browser, email).get("/invoices").text


def test_a_good_csv_file_ends_with_the_counts_and_the_invoices(app, worlds, admin, session, new_browser):
    browser = signed_in(new_browser, ADMIN)
    job_id, status = imported(app, browser, csv_bytes(GOOD_ROWS))

    assert status == {"id": job_id, "status": "finished", "progress": 1.0, "message": IMPORTED_GOOD_ROWS,
                      "result_url": "/invoices"}
    two_lines = invoice(session, "IMP-A-1")
    assert (two_lines.subtotal, two_lines.tax, two_lines.total) == (Decimal("287.04"), Decimal("7.41"), Decimal("294.45"))
    assert invoice(session, "IMP-G-1").total == Decimal(550)
    assert [n.number for n in invoice(session, "IMP-A-2").credit_notes] == ["CN-IMP-1"]
    page = browser.get(f"{PAGE}/{job_id}").text
    assert IMPORTED_GOOD_ROWS in page and 'data-job-result href="/invoices"' in page
    assert job_files(session) == 0  # the file went with the job's end


def test_a_good_workbook_imports_as_the_csv_file_does(app, worlds, session, new_browser):
    """Alpha's finance user, with Alpha's rows in a workbook of date and number cells."""
    job_id, status = imported(app, signed_in(new_browser, FINANCE), xlsx_bytes(ALPHA_ROWS), "invoices.xlsx")

    assert status["status"] == "finished", status
    assert status["message"] == "Imported 2 invoices (2 new, 0 updated) and 1 credit note."
    two_lines = invoice(session, "IMP-A-1")
    assert [(line.quantity, line.unit_price) for line in two_lines.lines] == [
        (Decimal("3"), Decimal("12.3456")), (Decimal("2.5"), Decimal("100"))]
    assert (two_lines.total, two_lines.issue_date) == (Decimal("294.45"), date.fromisoformat(GOOD_ROWS[0]["issue_date"]))
    assert invoice(session, "IMP-A-2").credit_notes[0].amount == Decimal("150.00")


def test_a_refused_file_ends_with_every_problem_by_row_and_column_and_writes_nothing(app, worlds, admin, session,
                                                                                      new_browser):
    before = row_counts(session)
    bad = [dict(row) for row in GOOD_ROWS]
    bad[0]["line_quantity"] = "x"                 # line 2
    bad[3]["account"] = "Nobody"                  # line 5
    browser = signed_in(new_browser, ADMIN)
    job_id, status = imported(app, browser, csv_bytes(bad))

    assert (status["status"], status["message"], status["result_url"]) == (
        "failed", "2 problems: nothing was imported", None)
    assert status["problems"] == [{"row": 2, "column": "line_quantity", "message": "not a number"},
                                  {"row": 5, "column": "account", "message": "no such account"}]
    assert row_counts(session) == before and invoice(session, "IMP-A-2") is None
    page = browser.get(f"{PAGE}/{job_id}").text
    assert problem_rows(page) == ["2 line_quantity not a number", "5 account no such account"]
    assert job_files(session) == 0


def test_a_finance_user_imports_only_into_the_accounts_assigned_to_them(app, worlds, session, new_browser):
    """Gamma is not Alpha's finance user's: its row is refused as an account that does
    not exist, and so the whole file."""
    before = row_counts(session)
    _job_id, status = imported(app, signed_in(new_browser, FINANCE), csv_bytes(GOOD_ROWS))
    assert status["problems"] == [{"row": 5, "column": "account", "message": "no such account"}]
    assert row_counts(session) == before


def test_a_file_that_cannot_be_read_is_refused_with_its_problem(app, worlds, admin, session, new_browser):
    browser = signed_in(new_browser, ADMIN)
    _job_id, status = imported(app, browser, b"number,account,issue_date,currency,due date\n")
    assert status["problems"] == [{"row": 1, "column": "due date", "message": "unknown column"}]
    # A damaged workbook does not get as far as a job: the upload's own checks refuse it.
    answer = upload(browser, b"PK\x03\x04" + b"\0" * 64, "broken.xlsx")
    assert answer.status_code == 200 and "broken.xlsx is not an allowed type of file." in answer.text


def test_the_problems_and_the_counts_are_in_the_readers_language(app, worlds, admin, session, new_browser):
    admin.language = "zh"
    session.commit()
    browser = signed_in(new_browser, ADMIN)
    bad = [dict(row) for row in GOOD_ROWS]
    bad[0]["line_quantity"] = "x"
    job_id, status = imported(app, browser, csv_bytes(bad))
    assert status["problems"] == [{"row": 2, "column": "line_quantity", "message": translated("zh", "not a number")}]
    zh = translations("zh")
    assert status["message"] == zh.ngettext("%(num)s problem: nothing was imported",
                                            "%(num)s problems: nothing was imported", 1) % {"num": 1}
    page = browser.get(f"{PAGE}/{job_id}").text
    assert translated("zh", "Row") in page and translated("zh", "Problem") in page

    _job_id, status = imported(app, browser, csv_bytes(GOOD_ROWS))
    counts = translated("zh", "Imported %(invoices)s (%(new)s new, %(updated)s updated) and %(notes)s.")
    assert status["message"] == counts % {
        "invoices": zh.ngettext("%(num)s invoice", "%(num)s invoices", 3) % {"num": 3}, "new": 3, "updated": 0,
        "notes": zh.ngettext("%(num)s credit note", "%(num)s credit notes", 1) % {"num": 1}}


def test_an_upload_that_is_no_spreadsheet_is_refused_beside_the_file(worlds, admin, session, new_browser):
    browser = signed_in(new_browser, ADMIN)
    jobs = job_count(session)
    answer = upload(browser, b"%PDF-1.7 an invoice", "invoice.pdf")
    assert answer.status_code == 200
    assert "invoice.pdf is neither a CSV file nor an Excel workbook (.xlsx)." in answer.text
    assert 'id="file-errors"' in answer.text
    assert job_count(session) == jobs


# --- who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["client.approver@alpha.example", "client.viewer@alpha.example",
                                   "account.manager@alpha.example", "regional.reviewer@alpha.example"])
def test_a_client_or_an_account_manager_gets_403(app, worlds, admin, session, new_browser, email):
    job_id, _status = imported(app, signed_in(new_browser, ADMIN), csv_bytes(GOOD_ROWS))
    browser = signed_in(new_browser, email)
    assert browser.get(PAGE).status_code == 403
    assert browser.get(f"{PAGE}/{job_id}").status_code == 403
    jobs = job_count(session)
    csrf = csrf_token(browser.get("/invoices").text)
    refused = browser.client.post(PAGE, data={"csrf_token": csrf, "file": (io.BytesIO(csv_bytes(GOOD_ROWS)), "a.csv")})
    assert refused.status_code == 403
    assert job_count(session) == jobs


def test_a_post_without_the_csrf_token_is_refused(worlds, admin, session, new_browser):
    browser = signed_in(new_browser, ADMIN)
    jobs = job_count(session)
    answer = browser.client.post(PAGE, data={"file": (io.BytesIO(csv_bytes(GOOD_ROWS)), "invoices.csv")})
    assert answer.status_code == 400
    assert job_count(session) == jobs
    assert job_files(session) == 0


def test_only_who_started_an_import_and_admins_follow_it(app, worlds, admin, session, new_browser):
    job_id, _status = imported(app, signed_in(new_browser, FINANCE), csv_bytes(ALPHA_ROWS))
    for path in (f"{PAGE}/{job_id}", f"/jobs/{job_id}"):
        assert signed_in(new_browser, "finance@bravo.example").get(path).status_code == 404
        assert signed_in(new_browser, ADMIN).get(path).status_code == 200
    # Another kind's job is not an import's page, even for who started it.
    other = worlds[0]["job"].id
    assert signed_in(new_browser, ADMIN).get(f"{PAGE}/{other}").status_code == 404


# --- once ---------------------------------------------------------------------------------------


def test_importing_the_same_file_again_updates_by_number_and_adds_nothing(app, worlds, admin, session, new_browser):
    browser = signed_in(new_browser, ADMIN)
    imported(app, browser, csv_bytes(GOOD_ROWS))
    counts = row_counts(session)
    _job_id, status = imported(app, browser, csv_bytes(GOOD_ROWS))
    assert status["message"] == "Imported 3 invoices (0 new, 3 updated) and 1 credit note."
    assert row_counts(session) == counts


def test_a_retried_import_writes_once(app, worlds, admin, session, new_browser, monkeypatch):
    """The first attempt fails after the import wrote (a lost connection): its work is
    rolled back, the file kept for the retry, which imports the file once; delivered
    again after it finished, the job does nothing (its file is gone)."""
    from portal.jobs import kinds

    with app.app_context():
        from portal.extensions import db

        job = imports.ask_for_import(db.session, admin, "invoices.csv", csv_bytes(GOOD_ROWS))
        job_id = job.id
        db.session.flush()
        db.session.info.pop("portal_jobs")  # the test runs its attempts itself: handed to no backend
        db.session.commit()
    url_path = kinds.url_path
    failures = iter([ConnectionError("the database went away")])

    def fails_once(*args, **kwargs):
        for error in failures:
            raise error
        return url_path(*args, **kwargs)

    monkeypatch.setattr(kinds, "url_path", fails_once)
    before = row_counts(session)
    with app.app_context():
        with pytest.raises(ConnectionError):
            attempt(job_id, final=False)
        assert row_counts(session) == before and job_files(session) == 1
        attempt(job_id, final=True)
        attempt(job_id, final=True)  # delivered again
    row = latest(session).scalars(sa.select(Job).where(Job.id == job_id)).one()
    assert (row.status, row.attempts, row.result["new_invoices"]) == (JobStatus.FINISHED, 2, 3)
    assert row_counts(session) == (before[0] + 3, before[1] + 4, before[2] + 1)
    assert job_files(session) == 0


def test_the_job_reports_its_progress_per_batch_of_rows(app, worlds, admin, session, new_browser, monkeypatch):
    from portal.jobs.core import JobContext

    reports: list[tuple[float, str]] = []
    report = JobContext.progress
    monkeypatch.setattr(JobContext, "progress", lambda ctx, fraction, message="": (
        reports.append((round(fraction, 4), message)), report(ctx, fraction, message)))
    rows = [invoice_row(f"MANY-{n:04d}", line_description="Payroll", line_quantity="1", line_unit_price="10")
            for n in range(2500)]
    _job_id, status = imported(app, signed_in(new_browser, ADMIN), csv_bytes(rows))
    assert status["message"] == "Imported 2500 invoices (2500 new, 0 updated) and 0 credit notes."
    messages = [message for _fraction, message in reports]
    assert messages[0] == "Reading the file"
    assert messages.count("Checking the invoices") == 20  # every 125 of the 2,500 invoices
    assert messages.count("Writing the invoices") >= 3    # each batch of 1,000 new invoices, and the lines
    fractions = [fraction for fraction, _message in reports]
    assert fractions == sorted(fractions) and fractions[-1] < 1
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(Invoice).where(
        Invoice.number.like("MANY-%"))) == 2500


# --- in a real browser --------------------------------------------------------------------------


@pytest.fixture
def held_reading(monkeypatch):
    """An event: while it is clear, the import job, once it says it is reading the
    file, waits until the test sets it."""
    go = threading.Event()
    read = imports.read_invoice_file

    def waiting(content):
        assert go.wait(30), "the test never let the import go"
        return read(content)

    monkeypatch.setattr(imports, "read_invoice_file", waiting)
    yield go
    go.set()


@pytest.mark.browser
def test_the_upload_then_the_jobs_progress_bar_reach_the_end_without_reloading(page, app, worlds, admin, session,
                                                                             tmp_path, held_reading):
    good = tmp_path / "invoices.csv"
    good.write_bytes(csv_bytes(GOOD_ROWS))
    held_reading.clear()
    sign_in_page(page, ADMIN)
    page.goto("/invoices")
    page.get_by_role("link", name="Import invoices").click()
    page.wait_for_url(f"**{PAGE}")
    page.evaluate("window.notReloaded = true")
    page.set_input_files("input[type=file]", str(good))
    page.locator("form[data-upload-progress] input[type=submit]").click()

    # The upload's answer is the job's page, put in place of this one: the job's bar follows the work.
    page.wait_for_url(f"**{PAGE}/*")
    bar = page.locator(".job progress")
    message = page.locator("[data-job-message]")
    wait_until(lambda: message.inner_text() == "Reading the file")
    assert 0 < bar.evaluate("b => b.value") < 1
    assert page.locator("[data-job-result]").is_hidden()
    screenshot(page, "invoice-import-progress")
    held_reading.set()
    page.locator("[data-job-result]").wait_for(state="visible")
    assert page.evaluate("window.notReloaded")
    assert bar.evaluate("b => b.value") == 1 and message.inner_text() == IMPORTED_GOOD_ROWS
    page.locator("[data-job-result]").click()
    page.wait_for_url("**/invoices")
    assert "IMP-A-1" in page.content()


@pytest.mark.browser
def test_a_refused_file_lists_its_problems_on_the_page_as_the_job_ends(page, app, worlds, admin, session, tmp_path,
                                                                      held_reading):
    bad = [dict(row) for row in GOOD_ROWS]
    bad[0]["line_quantity"] = "x"
    bad[3]["account"] = "Nobody"
    path = tmp_path / "invoices.csv"
    path.write_bytes(csv_bytes(bad))
    held_reading.clear()
    sign_in_page(page, ADMIN)
    page.goto(PAGE)
    page.evaluate("window.notReloaded = true")
    page.set_input_files("input[type=file]", str(path))
    page.locator("form[data-upload-progress] input[type=submit]").click()
    page.wait_for_url(f"**{PAGE}/*")
    wait_until(lambda: page.locator("[data-job-message]").inner_text() == "Reading the file")
    assert page.locator("[data-job-problems]").is_hidden()
    held_reading.set()  # the problems come with the job's end, listed by jobs.js
    rows = page.locator("[data-job-problems] tbody tr")
    wait_until(lambda: page.locator(".job").get_attribute("data-status") == "failed")
    rows.first.wait_for()
    assert page.evaluate("window.notReloaded")
    assert [" ".join(text.split()) for text in rows.all_inner_texts()] == [
        "2 line_quantity not a number", "5 account no such account"]
    assert page.locator("[data-job-message]").inner_text() == "2 problems: nothing was imported"
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the problems are {overflow}px wider than a {width}px screen"
        screenshot(page, f"invoice-import-refused-{width}")
