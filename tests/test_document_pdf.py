"""Documents as PDF (api.md: ``GET /documents/{id}/file?format=pdf``): 202 with
Retry-After and the job while the PDF is being made, then 200 with the PDF; one
conversion per distinct .docx whoever asks; 404 for another account's document, asking
for nothing; a failed conversion tried anew when asked again; issuing a document asks
for its PDF in the same unit of work; the pages' PDF links and preview; the PDF's text
(through LibreOffice); and in Chromium, the click, the progress and then the link.

Jobs run in the test's process (no Redis), as ``test_jobs.py`` runs them; most tests
replace LibreOffice by a fake converter that counts its calls."""

from __future__ import annotations

import subprocess
import threading
import time
import unicodedata

import pytest
import sqlalchemy as sa

import docgen.pdf
from portal.database import writing
from portal.documents import service as documents
from portal.models import Document, Job, JobStatus, PdfRendition, Role, StoredFile
from tests.conftest import base_config, sign_in_page, skip_or_fail
from tests.helpers import assert_error, finish_jobs, latest, post, signed_in, wait_until

AM = "account.manager@alpha.example"
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
BRAVO_CLIENT = "client.approver@bravo.example"
BRAVO_AM = "account.manager@bravo.example"
PDF = "application/pdf"
DOCX = documents.DOCX


@pytest.fixture
def app_config(database_url) -> dict:
    # Documents ask for their PDF when issued, as in production; no waiting between retries.
    return {**base_config(database_url), "DOCUMENT_PDF_ON_ISSUE": True, "JOB_RETRY_INTERVALS": [0]}


class FakeConverter:
    """LibreOffice's stand-in: a PDF naming the .docx's SHA-256, each call counted;
    ``hold()`` makes conversions wait until ``release()``; ``fail`` makes them fail."""

    def __init__(self):
        self.calls: list[str] = []
        self.fail = False
        self.started = threading.Event()
        self._go = threading.Event()
        self._go.set()

    def hold(self) -> None:
        self._go.clear()

    def release(self) -> None:
        self._go.set()

    def __call__(self, docxs, **_options):
        import hashlib

        digests = [hashlib.sha256(docx).hexdigest() for docx in docxs]
        self.calls.extend(digests)
        self.started.set()
        assert self._go.wait(30)
        if self.fail:
            raise docgen.pdf.PdfError("LibreOffice could not convert the document")
        return [fake_pdf(digest) for digest in digests]


def fake_pdf(digest: str) -> bytes:
    """A one-page PDF that a viewer shows, saying which .docx it stands for."""
    text = f"BT /F1 9 Tf 20 100 Td (PDF of {digest[:16]}) Tj ET".encode()
    return b"".join([
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n",
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n",
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 144]/Contents 4 0 R",
        b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n",
        b"4 0 obj<</Length %d>>stream\n%s\nendstream endobj\n" % (len(text), text),
        b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    ])


@pytest.fixture
def converter(monkeypatch) -> FakeConverter:
    fake = FakeConverter()
    monkeypatch.setattr(docgen.pdf, "to_pdf", fake)
    yield fake
    fake.release()


@pytest.fixture
def jobs_done(app, session):
    """``jobs_done()``: wait for the jobs handed to the threads of the requests' app
    and of the ``session``'s (services called by the test)."""
    from flask import current_app

    def done() -> None:
        for each in (app, current_app._get_current_object(), app):  # a job may ask for another
            finish_jobs(each)

    return done


@pytest.fixture(autouse=True)
def _no_job_left_running(jobs_done, converter):
    """No job thread outlives its test (and its database)."""
    yield
    converter.release()
    jobs_done()


# Bravo (whose users must see nothing of Alpha's) and the admin beside Alpha.
pytestmark = pytest.mark.beside_alpha("bravo", "admin")


def pdf_url(document) -> str:
    return f"/api/v1/documents/{document.id}/file?format=pdf"


def jobs(session) -> list[Job]:
    return latest(session).scalars(sa.select(Job).where(Job.kind == "document_pdf").order_by(Job.created_at)).all()


def document_of(session, world, docx: bytes, number: str) -> Document:
    """A document of ``world``'s account holding the file ``docx``."""
    import hashlib

    digest = hashlib.sha256(docx).hexdigest()
    session.rollback()  # a job of the app may be writing: take SQLite's write lock first, as requests do
    with writing():
        return _stored_document(session, world.account.id, world["contract"].id, world["document"].kind, number,
                                docx, digest)


def _stored_document(session, account_id, contract_id, kind, number, docx, digest) -> Document:
    stored = StoredFile(account_id=account_id, filename=f"{number}.docx", content_type=DOCX, size=len(docx),
                        sha256=digest, data=docx)
    session.add(stored)
    session.flush()
    document = Document(account_id=account_id, contract_id=contract_id, kind=kind, number=number, languages=["en"],
                        sha256=digest, file_id=stored.id, source={})
    session.add(document)
    session.commit()
    return document


def twin_of(session, document: Document, number: str) -> Document:
    """A second document of the same account holding the very same .docx bytes."""
    docx, account_id, contract_id, kind = document.file.data, document.account_id, document.contract_id, document.kind
    session.rollback()
    with writing():
        return _stored_document(session, account_id, contract_id, kind, number, docx, document.sha256)


# --- the API ---------------------------------------------------------------------------------------


def test_the_api_answers_202_with_the_job_until_the_pdf_is_made_then_the_pdf(client, auth, session, alpha,
                                                                            converter, jobs_done):
    document = alpha["document"]
    converter.hold()
    first = client.get(pdf_url(document), headers=auth(CLIENT))
    assert first.status_code == 202 and first.mimetype == "application/json"
    assert first.headers["Retry-After"] == "2"
    job = first.json["job"]
    assert set(job) == {"id", "status", "progress", "message", "result_url"} and job["status"] == "queued"
    assert first.headers["Location"] == f"/api/v1/jobs/{job['id']}"

    assert converter.started.wait(30)  # the job has read the .docx and is converting it
    followed = client.get(f"/api/v1/jobs/{job['id']}", headers=auth(CLIENT)).json
    assert (followed["status"], followed["progress"], followed["message"]) == (
        "started", 0.1, "Converting the document to PDF")
    meanwhile = client.get(pdf_url(document), headers=auth(CLIENT))
    assert meanwhile.status_code == 202 and meanwhile.json["job"] == followed  # the same job, as GET /jobs/{id}

    converter.release()
    jobs_done()
    done = client.get(f"/api/v1/jobs/{job['id']}", headers=auth(CLIENT)).json
    assert (done["status"], done["result_url"]) == ("finished", f"/documents/{document.id}/pdf")
    ready = client.get(pdf_url(document), headers=auth(CLIENT))
    assert ready.status_code == 200 and ready.mimetype == PDF
    assert ready.data == fake_pdf(document.sha256)
    assert ready.headers["Content-Disposition"].startswith("attachment;") and "AMD-Alpha-0001.pdf" in ready.headers[
        "Content-Disposition"]
    assert converter.calls == [document.sha256]


def test_the_docx_is_still_the_default_and_format_docx(client, auth, alpha, converter):
    document = alpha["document"]
    for url in (f"/api/v1/documents/{document.id}/file", f"/api/v1/documents/{document.id}/file?format=docx"):
        response = client.get(url, headers=auth(VIEWER))
        assert (response.status_code, response.mimetype, response.data) == (200, DOCX, document.file.data)
    assert converter.calls == []


def test_an_unknown_format_is_refused_naming_it(client, auth, session, alpha):
    error = assert_error(client.get(f"/api/v1/documents/{alpha['document'].id}/file?format=odt", headers=auth(CLIENT)), 422)
    assert error["fields"] == {"format": "docx or pdf"}
    assert jobs(session) == []


def test_the_same_docx_twice_is_converted_once_whoever_asks(client, auth, session, alpha, converter, jobs_done):
    document = alpha["document"]
    twin = twin_of(session, document, "AMD-Alpha-0002")
    converter.hold()
    by_client = client.get(pdf_url(document), headers=auth(CLIENT)).json["job"]
    by_manager = client.get(pdf_url(twin), headers=auth(AM)).json["job"]
    assert by_manager["id"] == by_client["id"]
    converter.release()
    jobs_done()
    for asked, email in ((document, AM), (twin, CLIENT), (twin, VIEWER)):
        response = client.get(pdf_url(asked), headers=auth(email))
        assert (response.status_code, response.mimetype) == (200, PDF)
        assert response.data == fake_pdf(document.sha256)
    assert converter.calls == [document.sha256]
    assert len(jobs(session)) == 1
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(PdfRendition)) == 1


def test_another_accounts_document_answers_404_and_asks_for_nothing(client, auth, session, alpha, converter):
    document = alpha["document"]
    for email in (BRAVO_CLIENT, BRAVO_AM):
        for url in (pdf_url(document), f"/api/v1/documents/{document.id}/file"):
            assert_error(client.get(url, headers=auth(email)), 404, "not_found")
    assert jobs(session) == [] and converter.calls == []


def test_a_job_making_a_pdf_is_followed_by_whoever_sees_a_document_of_that_file(client, auth, session, alpha, bravo,
                                                                                converter, jobs_done):
    """Whoever asks for the PDF of a file joins its one job, so whoever sees a document of
    that file may follow it; nobody else, whichever account its first asker was of."""
    document = document_of(session, alpha, b"the .docx of AMD-Alpha-0002", "AMD-Alpha-0002")
    converter.hold()
    job_id = client.get(pdf_url(document), headers=auth(AM)).json["job"]["id"]
    assert client.get(f"/api/v1/jobs/{job_id}", headers=auth(VIEWER)).status_code == 200
    assert_error(client.get(f"/api/v1/jobs/{job_id}", headers=auth(BRAVO_AM)), 404, "not_found")
    document_of(session, bravo, b"the .docx of AMD-Alpha-0002", "AMD-Bravo-0002")  # the very same file
    assert client.get(f"/api/v1/jobs/{job_id}", headers=auth(BRAVO_AM)).status_code == 200


def test_a_failed_conversion_is_tried_anew_when_asked_again(client, auth, session, alpha, converter, jobs_done):
    document = alpha["document"]
    converter.fail = True
    failed = client.get(pdf_url(document), headers=auth(CLIENT)).json["job"]
    jobs_done()
    shown = client.get(f"/api/v1/jobs/{failed['id']}", headers=auth(CLIENT)).json
    assert (shown["status"], shown["message"]) == ("failed", "Something went wrong on our side.")
    assert len(converter.calls) == 2  # the first try and its one retry (JOB_RETRY_INTERVALS)

    converter.fail = False
    again = client.get(pdf_url(document), headers=auth(CLIENT))
    assert again.status_code == 202 and again.json["job"]["id"] != failed["id"]
    jobs_done()
    assert client.get(pdf_url(document), headers=auth(CLIENT)).status_code == 200
    assert client.get(f"/api/v1/jobs/{failed['id']}", headers=auth(CLIENT)).json["status"] == "failed"


def test_without_libreoffice_the_job_fails_at_once_saying_so(client, auth, session, alpha, monkeypatch, jobs_done):
    def missing(_docxs, **_options):
        raise docgen.pdf.ConverterMissing("LibreOffice (soffice) is not on PATH")

    monkeypatch.setattr(docgen.pdf, "to_pdf", missing)
    job = client.get(pdf_url(alpha["document"]), headers=auth(CLIENT)).json["job"]
    jobs_done()
    shown = client.get(f"/api/v1/jobs/{job['id']}", headers=auth(CLIENT)).json
    assert (shown["status"], shown["message"]) == (
        "failed", "PDFs cannot be made on this server: its document converter is not installed.")
    assert latest(session).scalars(sa.select(Job.attempts).where(Job.id == job["id"])).one() == 1  # no retry


def test_the_openapi_document_describes_the_pdf_and_its_202(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/documents/{document_id}/file"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"document_id", "format"}
    assert set(operation["responses"]["200"]["content"]) == {DOCX, PDF}
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PdfPendingOut"}


# --- asked for when a document is issued ---------------------------------------------------------


def test_issuing_a_document_asks_for_its_pdf_which_is_then_ready(client, auth, session, alpha, converter, jobs_done):
    from tests.test_cr_api import new_work_order

    issued = post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id))
    assert issued.status_code == 201
    [job] = jobs(session)
    assert (job.key, job.user_id, job.account_id) == (issued.json["sha256"], alpha.user(Role.ACCOUNT_MANAGER).id,
                                                      alpha.account.id)
    jobs_done()
    response = client.get(f"/api/v1/documents/{issued.json['id']}/file?format=pdf", headers=auth(CLIENT))
    assert (response.status_code, response.mimetype) == (200, PDF)
    assert converter.calls == [issued.json["sha256"]]


def test_an_issue_rolled_back_asks_for_no_pdf(session, alpha, converter, jobs_done):
    from datetime import date

    documents.issue_work_order(
        session, alpha.account, alpha["contract"], alpha.user(Role.ACCOUNT_MANAGER), title={"en": "Audit"},
        description={"en": "Audit of 2026 payroll."}, po_number="PO-1", start_date=date(2027, 1, 4),
        end_date=date(2027, 2, 26), lines=[{"description": {"en": "Day"}, "unit": "day", "quantity": "1",
                                            "unit_price": "950.00"}],
        acceptance_criteria=[], languages=["en"])
    assert session.scalars(sa.select(Job.kind).where(Job.kind == "document_pdf")).all() == ["document_pdf"]  # not yet committed
    session.rollback()
    jobs_done()
    assert jobs(session) == [] and converter.calls == []


def test_a_review_pack_made_by_a_job_asks_for_its_pdf_when_that_job_commits(app, session, alpha, new_browser,
                                                                           converter, jobs_done):
    am = signed_in(new_browser, AM)
    am.post_form(f"/scorecards/{alpha.account.id}/review-pack", page=f"/scorecards/{alpha.account.id}")
    jobs_done()
    pack = latest(session).scalars(sa.select(Document).where(Document.number.like("MSR-%"))).one()
    [job] = jobs(session)
    assert (job.key, job.status) == (pack.sha256, JobStatus.FINISHED) and converter.calls == [pack.sha256]


def test_the_setting_off_issues_without_asking(client, auth, session, alpha, converter, app):
    from tests.test_cr_api import new_work_order

    app.config["DOCUMENT_PDF_ON_ISSUE"] = False
    assert post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id)).status_code == 201
    assert jobs(session) == []


# --- the pages -------------------------------------------------------------------------------------


def test_the_documents_page_links_word_pdf_and_preview(new_browser, session, alpha, converter, jobs_done):
    document = alpha["document"]
    browser = signed_in(new_browser, CLIENT)
    html = browser.get("/documents").text
    assert f'href="/documents/{document.id}/download">Word</a>' in html
    assert f'href="/documents/{document.id}/pdf" data-job-link aria-controls="pdf-job-{document.id}">PDF</a>' in html
    assert f'href="/documents/{document.id}/pdf?preview=1" target="_blank" rel="noopener">Preview</a>' in html
    assert f'id="pdf-job-{document.id}" data-job-box hidden' in html

    browser.get(f"/documents/{document.id}/pdf", headers={"Accept": "application/json"})
    jobs_done()
    html = browser.get("/documents").text
    assert f'href="/documents/{document.id}/pdf">PDF</a>' in html and "data-job-link" not in html


def test_the_pdf_page_answers_the_script_with_the_job_and_a_browser_with_a_progress_page(new_browser, session, alpha,
                                                                                      converter, jobs_done):
    document = alpha["document"]
    browser = signed_in(new_browser, VIEWER)
    converter.hold()
    script = browser.get(f"/documents/{document.id}/pdf", headers={"Accept": "application/json"})
    assert script.status_code == 202 and script.headers["Retry-After"] == "2"
    job_id = script.json["job"]["id"]
    assert script.json["status_url"] == f"/jobs/{job_id}"
    assert browser.get(script.json["status_url"]).json["id"] == job_id

    page = browser.get(f"/documents/{document.id}/pdf?preview=1")
    assert page.status_code == 202 and page.mimetype == "text/html"
    assert f'data-job="/jobs/{job_id}"' in page.text and "<progress" in page.text
    assert f'href="/documents/{document.id}/pdf?preview=1"' in page.text

    converter.release()
    jobs_done()
    download = browser.get(f"/documents/{document.id}/pdf")
    assert (download.status_code, download.mimetype) == (200, PDF)
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_the_preview_is_shown_inline_sandboxed_and_kept_out_of_frames(new_browser, session, alpha, converter,
                                                                     jobs_done):
    document = alpha["document"]
    browser = signed_in(new_browser, CLIENT)
    browser.get(f"/documents/{document.id}/pdf", headers={"Accept": "application/json"})
    jobs_done()
    preview = browser.get(f"/documents/{document.id}/pdf?preview=1")
    assert (preview.status_code, preview.mimetype) == (200, PDF)
    assert preview.headers["Content-Disposition"].startswith("inline;")
    assert preview.headers["Content-Security-Policy"] == "sandbox; default-src 'none'; frame-ancestors 'none'"
    assert preview.headers["X-Frame-Options"] == "DENY" and preview.headers["X-Content-Type-Options"] == "nosniff"


def test_another_accounts_pdf_page_answers_404_and_asks_for_nothing(new_browser, session, alpha, converter):
    browser = signed_in(new_browser, BRAVO_CLIENT)
    for url in (f"/documents/{alpha['document'].id}/pdf", f"/documents/{alpha['document'].id}/pdf?preview=1"):
        assert browser.get(url).status_code == 404
        assert browser.get(url, headers={"Accept": "application/json"}).status_code == 404
    assert jobs(session) == [] and converter.calls == []


def test_the_change_request_and_plan_pages_link_their_documents_pdf(new_browser, session, alpha):
    browser = signed_in(new_browser, AM)
    for page, link in ((f"/change-requests/{alpha['change_request'].id}", "change_request_id"),
                       (f"/plans/{alpha['plan'].id}", "plan_id")):
        document = alpha["document"]
        setattr(document, link, alpha["change_request" if link == "change_request_id" else "plan"].id)
        session.commit()
        html = browser.get(page).text
        assert f'href="/documents/{document.id}/pdf" data-job-link' in html, page


# --- the worker ---------------------------------------------------------------------------------------


def test_the_worker_warms_libreoffice_before_it_takes_jobs(session, monkeypatch):
    from flask import current_app

    from portal.jobs import backends

    happened: list[str] = []

    class Worker:
        def work(self, **_options):
            happened.append("work")

    monkeypatch.setattr(docgen.pdf, "warm_up", lambda: happened.append("warm_up") or True)
    monkeypatch.setattr(backends, "make_worker", lambda app, name=None: Worker())
    app = current_app._get_current_object()  # the command runs in the app context the session fixture holds
    backends.backend(app)  # made without Redis, for the test's own jobs
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert happened == ["warm_up", "work"]


# --- through LibreOffice -----------------------------------------------------------------------------


@pytest.mark.pdf
def test_the_pdf_made_by_libreoffice_holds_the_documents_number(client, auth, session, alpha, jobs_done, monkeypatch,
                                                                tmp_path, converter):
    from tests.test_cr_api import new_work_order

    monkeypatch.undo()  # LibreOffice itself, not the fake
    for tool in ("soffice", "pdftotext"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            skip_or_fail(f"{tool} is not installed (Debian packages libreoffice-writer-nogui, poppler-utils)")
    issued = post(client, "/api/v1/work-orders", auth(AM), new_work_order(alpha.account.id)).json
    url = f"/api/v1/documents/{issued['id']}/file?format=pdf"
    first = client.get(url, headers=auth(CLIENT))
    if first.status_code == 202:
        deadline = time.monotonic() + 180
        while (response := client.get(url, headers=auth(CLIENT))).status_code == 202:
            assert time.monotonic() < deadline, "no PDF after 180 s"
            time.sleep(0.5)
    else:
        response = first
    assert (response.status_code, response.mimetype) == (200, PDF), response.get_data(as_text=True)[:500]
    path = tmp_path / "work-order.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert issued["number"] in unicodedata.normalize("NFC", text)
    assert response.data.startswith(b"%PDF-")


# --- in Chromium ----------------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_click_on_pdf_shows_the_progress_then_the_link_without_reloading(page, session, alpha, converter):
    document = alpha["document"]
    converter.hold()
    sign_in_page(page, CLIENT)
    page.goto("/documents")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("link", name="PDF", exact=True).click()
    box = page.locator(f"#pdf-job-{document.id}")
    box.wait_for(state="visible")
    assert converter.started.wait(30)
    wait_until(lambda: page.locator(f"#pdf-job-{document.id} [data-job-message]").inner_text()
               == "Converting the document to PDF")
    result = box.locator("[data-job-result]")
    assert result.is_hidden()
    converter.release()
    result.wait_for(state="visible")
    assert page.evaluate("window.notReloaded") and box.get_attribute("data-status") == "finished"
    assert box.locator("progress").evaluate("bar => bar.value") == 1
    with page.expect_download() as download:
        result.click()
    assert download.value.suggested_filename == "AMD-Alpha-0001.pdf"
    assert download.value.path().read_bytes() == fake_pdf(document.sha256)

    with page.expect_popup() as popup:
        page.get_by_role("link", name="Preview").click()
    preview = popup.value
    preview.wait_for_load_state()
    assert preview.url.endswith(f"/documents/{document.id}/pdf?preview=1")
    # Shown by Chromium's PDF viewer (a frame of its own), under the sandboxing CSP, not saved.
    wait_until(lambda: preview.wait_for_timeout(100) or any(
        frame.url.startswith("chrome-extension://") for frame in preview.frames))
