"""Invoices and statements of account as documents (api.md: ``GET /invoices/{id}/file``):
the invoice in its account's languages as Word, or as PDF with the 202 rule of any
document's PDF; made once per content and again when the invoice changes; 404 for
another account's invoice, making nothing; the invoice and statement pages' links; the
bank details from the configuration.

Jobs run in the test's process (no Redis) and LibreOffice is replaced by the fake
converter of ``test_document_pdf``, as there."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from docx.oxml.ns import qn

from docgen.formatting import amount_in_words
from portal.config import ConfigError, load_config
from portal.models import CreditNote, Document, DocumentKind, InvoiceStatus, Job
from tests import test_document_pdf
from tests.conftest import base_config
from tests.docgen.reading import AS_READ, full_text, open_docx, stories
from tests.factories import add_invoice
from tests.helpers import assert_error, latest, signed_in
from tests.test_document_pdf import DOCX, PDF, fake_pdf

CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
BRAVO_CLIENT = "client.approver@bravo.example"
BRAVO_FINANCE = "finance@bravo.example"
BANK = {"USD": {"account_name": "Meridian Business Services Ltd", "bank_name": "DBS Bank Ltd, Singapore",
                "account_number": "072-913584-2", "swift": "DBSSSGSG"}}

# The fake LibreOffice, the wait for the jobs' threads and the check that none outlives its
# test, as the documents' PDF tests have them.
converter = test_document_pdf.converter
jobs_done = test_document_pdf.jobs_done
_no_job_left_running = test_document_pdf._no_job_left_running


@pytest.fixture
def app_config(database_url) -> dict:
    return {**base_config(database_url), "JOB_RETRY_INTERVALS": [0], "BANK_DETAILS": BANK,
            "FIRM_TAX_ID": "201912345K"}


@pytest.fixture
def alpha(session, alpha, bravo):
    """Alpha billed in English and Chinese, with Bravo (whose users must see nothing of it)."""
    account = alpha.account
    account.document_languages = ["en", "zh"]
    account.legal_names = {"en": "Alpha Precision Ltd", "zh": "阿尔法精密有限公司"}
    account.address = {"en": "8 Science Park Road, Shenzhen", "zh": "深圳市科技园路8号"}
    account.tax_id = "91440300MA5FXXXX7Q"
    session.commit()
    return alpha


def file_url(invoice, fmt: str = "docx") -> str:
    return f"/api/v1/invoices/{invoice.id}/file?format={fmt}"


def invoice_documents(session) -> list[Document]:
    return latest(session).scalars(sa.select(Document).where(Document.kind == DocumentKind.INVOICE)
                                   .order_by(Document.id)).all()


# --- the API -------------------------------------------------------------------------------


def test_a_client_gets_its_invoice_as_word_in_both_of_its_account_languages(client, auth, session, alpha):
    invoice = alpha["invoice"]
    response = client.get(file_url(invoice), headers=auth(CLIENT))
    assert (response.status_code, response.mimetype) == (200, DOCX)
    assert f"{invoice.number}.docx" in response.headers["Content-Disposition"]
    text = full_text(open_docx(response.data))
    # Seller and buyer with their tax numbers, the line, the tax as a rate, the totals and
    # the amount due after the credit note, in English and in Chinese.
    for expected in ("Invoice", "商业发票", "Alpha Precision Ltd", "阿尔法精密有限公司", "Tax ID: 201912345K",
                     "91440300MA5FXXXX7Q", "Payroll", "Tax (20%)", "税额（税率 20%）", "1,200.00",
                     amount_in_words(Decimal("1200"), "USD", "en"), amount_in_words(Decimal("1200"), "USD", "zh"),
                     "CN-Alpha-0001",
                     "Amount due", "1,080.00", "PO-Alpha", "MSA-Alpha-001"):
        assert expected in text, expected
    # The bank of the invoice's currency, from BANK_DETAILS.
    assert "072-913584-2" in text and "DBSSSGSG" in text and "DBS Bank Ltd, Singapore" in text
    [document] = invoice_documents(session)
    assert (document.invoice_id, document.account_id, document.languages) == (invoice.id, invoice.account_id,
                                                                              ["en", "zh"])
    assert document.sha256 == hashlib.sha256(response.data).hexdigest()


def test_the_pdf_answers_202_with_the_job_until_it_is_made_then_the_pdf(client, auth, session, alpha, converter,
                                                                       jobs_done):
    invoice = alpha["invoice"]
    converter.hold()
    first = client.get(file_url(invoice, "pdf"), headers=auth(VIEWER))
    assert first.status_code == 202 and first.headers["Retry-After"] == "2"
    job = first.json["job"]
    assert first.headers["Location"] == f"/api/v1/jobs/{job['id']}"
    assert client.get(file_url(invoice, "pdf"), headers=auth(CLIENT)).json["job"]["id"] == job["id"]
    converter.release()
    jobs_done()
    ready = client.get(file_url(invoice, "pdf"), headers=auth(VIEWER))
    [document] = invoice_documents(session)
    assert (ready.status_code, ready.mimetype, ready.data) == (200, PDF, fake_pdf(document.sha256))
    assert f"{invoice.number}.pdf" in ready.headers["Content-Disposition"]
    assert converter.calls == [document.sha256]


def test_the_document_is_made_once_and_again_when_the_invoice_changes(client, auth, session, alpha):
    invoice = alpha["invoice"]
    first = client.get(file_url(invoice), headers=auth(CLIENT)).data
    assert client.get(file_url(invoice), headers=auth(FINANCE)).data == first
    assert len(invoice_documents(session)) == 1

    session.add(CreditNote(account_id=invoice.account_id, number="CN-Alpha-0002", invoice_id=invoice.id,
                           issue_date=invoice.issue_date, currency=invoice.currency, amount=Decimal("80.00"),
                           reason="Late payroll run"))
    session.commit()
    changed = client.get(file_url(invoice), headers=auth(CLIENT)).data
    assert changed != first
    assert "CN-Alpha-0002" in full_text(open_docx(changed)) and "1,000.00" in full_text(open_docx(changed))
    # The invoice keeps its number: the changed invoice's document is its next revision.
    assert [(d.number, d.revision) for d in invoice_documents(session)] == [(invoice.number, 1), (invoice.number, 2)]
    assert client.get(file_url(invoice), headers=auth(CLIENT)).data == changed


def test_another_accounts_invoice_answers_404_and_makes_nothing(client, auth, session, alpha, converter):
    invoice = alpha["invoice"]
    for email in (BRAVO_CLIENT, BRAVO_FINANCE):
        for fmt in ("docx", "pdf"):
            assert_error(client.get(file_url(invoice, fmt), headers=auth(email)), 404, "not_found")
    assert invoice_documents(session) == [] and converter.calls == []
    assert latest(session).scalars(sa.select(Job).where(Job.kind == "document_pdf")).all() == []


def test_an_unknown_format_is_refused_before_anything_is_made(client, auth, session, alpha):
    error = assert_error(client.get(file_url(alpha["invoice"], "odt"), headers=auth(CLIENT)), 422)
    assert error["fields"] == {"format": "docx or pdf"}
    assert invoice_documents(session) == []


@pytest.mark.parametrize("email", [CLIENT, VIEWER, AM, FINANCE])
def test_whoever_sees_the_invoice_may_download_it(client, auth, alpha, email):
    response = client.get(file_url(alpha["invoice"]), headers=auth(email))
    assert (response.status_code, response.mimetype) == (200, DOCX)


def test_an_account_in_one_language_gets_a_monolingual_vietnamese_invoice(client, auth, session, alpha):
    account = alpha.account
    account.document_languages = ["vi"]
    invoice = add_invoice(session, alpha, "INV-Alpha-VN-1", currency="VND", total="1100000", subtotal="1000000",
                          lines=[("Payroll", 100, "10000")])
    session.commit()
    text = full_text(open_docx(client.get(file_url(invoice), headers=auth(CLIENT)).data))
    assert "Hóa đơn thương mại" in text and "Invoice" not in text
    assert "Thuế (thuế suất 10%)" in text and "1.100.000" in text
    assert amount_in_words(Decimal("1100000"), "VND", "vi") in text
    # No bank for VND in BANK_DETAILS: no bank section rather than the wrong bank.
    assert "DBSSSGSG" not in text


def test_a_tax_that_is_no_single_rate_is_shown_as_an_amount(client, auth, session, alpha):
    invoice = add_invoice(session, alpha, "INV-Alpha-0002", total="1000.07", subtotal="1000.00",
                          lines=[("Payroll", 100, "10.00")])
    session.commit()
    text = full_text(open_docx(client.get(file_url(invoice), headers=auth(CLIENT)).data))
    assert "Tax: " not in text and "Tax (" not in text and "Tax / 税额" in text
    assert "1,000.07" in text


# --- the pages -----------------------------------------------------------------------------


def test_the_invoice_page_links_its_pdf_and_word_file(new_browser, session, alpha):
    invoice = alpha["invoice"]
    browser = signed_in(new_browser, CLIENT)
    html = browser.get(f"/invoices/{invoice.id}").text
    assert f'href="/invoices/{invoice.id}/file?format=pdf"' in html
    assert f'href="/invoices/{invoice.id}/file?format=docx"' in html
    word = browser.get(f"/invoices/{invoice.id}/file?format=docx")
    assert (word.status_code, word.mimetype) == (200, DOCX)
    pdf = browser.get(f"/invoices/{invoice.id}/file?format=pdf")
    [document] = invoice_documents(session)
    # The PDF is the document's: its page follows the job making it, then serves it.
    assert pdf.status_code == 302 and pdf.headers["Location"] == f"/documents/{document.id}/pdf"


def test_another_accounts_invoice_file_page_is_404(new_browser, session, alpha):
    browser = signed_in(new_browser, BRAVO_FINANCE)
    for fmt in ("pdf", "docx"):
        assert browser.get(f"/invoices/{alpha['invoice'].id}/file?format={fmt}").status_code == 404
    assert invoice_documents(session) == []


def test_a_number_copied_from_the_invoice_finds_it_in_the_portal(new_browser, session, alpha):
    """The document keeps numbers on one line with invisible word joiners (and no-break
    spaces): a client who copies the invoice's or its PO's number out of the Word file and
    pastes it into the list's filters or the search box finds the invoice."""
    invoice = alpha["invoice"]
    browser = signed_in(new_browser, CLIENT)
    document = open_docx(browser.get(f"/invoices/{invoice.id}/file?format=docx").data)
    pieces = ["".join(text.text or "" for text in run.iter(qn("w:t"))) for story in stories(document)
              for run in story.iter(qn("w:r"))]
    copied = {wanted: next(piece for piece in pieces if piece.translate(AS_READ) == wanted)
              for wanted in (invoice.number, invoice.po_number)}
    assert all(copy != wanted for wanted, copy in copied.items()), "the document's numbers carry no joiner"

    link = f'href="/invoices/{invoice.id}"'
    for url in (f"/invoices?q={copied[invoice.number]}", f"/invoices?po={copied[invoice.po_number]}",
                f"/search?q={copied[invoice.number]}", f"/search?q={copied[invoice.po_number]}"):
        assert link in browser.get(url).text, url


def table_row(document, heading: str, first_cell: str) -> list[str]:
    """The cells of the row starting with ``first_cell`` (numbers skipped) in the data
    table whose header starts with ``heading``."""
    for table in document.tables:
        if table.rows[0].cells[0].text.startswith(heading) or table.rows[0].cells[1].text.startswith(heading):
            for row in table.rows:
                cells = [cell.text for cell in row.cells]
                if first_cell in cells[:2]:
                    return cells[cells.index(first_cell):]
    raise AssertionError(f"no row {first_cell} under {heading}")


def statement_text(browser, url: str) -> str:
    response = browser.get(url)
    assert (response.status_code, response.mimetype) == (200, DOCX), response.status_code
    return full_text(open_docx(response.data))


def test_a_client_downloads_its_statement_with_the_disputed_invoice_marked(new_browser, session, alpha):
    world = alpha
    today = world.account.today()
    add_invoice(session, world, "INV-Alpha-OLD", days_ago=100, due_in=30, total="500.00")
    add_invoice(session, world, "INV-Alpha-DIS", days_ago=45, due_in=30, total="250.00",
                status=InvoiceStatus.DISPUTED)
    add_invoice(session, world, "INV-Alpha-PAID", days_ago=45, total="999.00", status=InvoiceStatus.PAID)
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    list_page = browser.get("/invoices").text
    assert 'href="/invoices/statement/file?account=&amp;format=pdf"' in list_page
    statement_page = browser.get("/invoices/statement").text
    assert f'href="/invoices/statement/file?account={world.account.id}&amp;format=pdf"' in statement_page

    response = browser.get("/invoices/statement/file?format=docx")
    assert (response.status_code, response.mimetype) == (200, DOCX)
    document = open_docx(response.data)
    text = full_text(document)
    assert "Statement of account" in text and "对账单" in text
    assert "INV-Alpha-PAID" not in text
    # The seeded invoice (1,200.00 less its 120.00 credit note) not yet due, the disputed
    # one 15 days overdue, the old one 70: each in its bucket, all in the total due.
    assert table_row(document, "Currency", "USD") == ["USD", "1,080.00", "250.00", "0.00", "500.00", "0.00",
                                                      "1,830.00"]
    assert table_row(document, "Invoice number", "INV-Alpha-DIS\u00a0*")[3:] == ["15", "250.00", "0.00", "250.00"]
    assert "* Disputed: the invoice stays open" in text and "* 有争议" in text
    assert table_row(document, "Invoice number", "INV-Alpha-OLD")[3:] == ["70", "500.00", "0.00", "500.00"]
    assert table_row(document, "Invoice number", "INV-Alpha-0001")[3:] == ["0", "1,200.00", "120.00", "1,080.00"]
    [stored] = latest(session).scalars(sa.select(Document).where(Document.kind == DocumentKind.STATEMENT)).all()
    assert stored.number == f"SOA-{world.account.id}-{today:%Y%m%d}"
    # As PDF: the same statement (nothing changed since), through its document's PDF page.
    pdf = browser.get("/invoices/statement/file")
    assert pdf.status_code == 302 and pdf.headers["Location"] == f"/documents/{stored.id}/pdf"


def test_a_firm_user_downloads_the_statement_of_an_account_it_sees_and_no_other(new_browser, session, alpha,
                                                                               bravo):
    browser = signed_in(new_browser, FINANCE)
    html = browser.get(f"/invoices?account={alpha.account.id}").text
    assert f'href="/invoices/statement/file?account={alpha.account.id}&amp;format=docx"' in html
    assert "statement/file" not in browser.get("/invoices").text  # which account's? the list names several
    assert "Alpha Precision Ltd" in statement_text(browser, f"/invoices/statement/file?account={alpha.account.id}"
                                                            "&format=docx")
    assert browser.get(f"/invoices/statement/file?account={bravo.account.id}&format=docx").status_code == 404
    assert browser.get(f"/invoices/statement/file?account={alpha.account.id}&format=odt").status_code == 404


# --- configuration -------------------------------------------------------------------------


def test_bank_details_come_from_the_environment_as_json_per_currency():
    env = {"PORTAL_ENV": "testing", "BANK_DETAILS": json.dumps(BANK)}
    assert load_config(env)["BANK_DETAILS"] == BANK
    assert load_config({"PORTAL_ENV": "testing"})["BANK_DETAILS"] == {}


@pytest.mark.parametrize(("value", "named"), [
    ("{not json", "not valid JSON"),
    ('["USD"]', "a JSON object by currency"),
    ('{"usd": {}}', "'usd' is not an ISO 4217 currency code"),
    ('{"USD": {"bank_name": "DBS"}}', "USD: account_name: Field required"),
])
def test_bad_bank_details_stop_the_start_naming_the_mistake(value, named):
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_config({"PORTAL_ENV": "testing", "BANK_DETAILS": value})
