"""The monthly service review pack issued from the portal: ``flask review-pack ACCOUNT
YYYY-MM`` and the button on the scorecard (a background job) both store a Document of
kind review_pack;
the .docx read back holds the month's KPIs with their statuses in the document's
languages, the requests opened and closed, the change request decided that month, the
invoices issued and open, and the trend chart as an image.

The month is the current one (in the account's time zone): the factory's request,
escalation, invoice and KPI actual are all of today. How docgen lays the pack out is
proven in ``tests/docgen/test_review_pack``."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from docgen.i18n import translations
from portal.change_requests.service import decide
from portal.models import (
    Decision,
    Document,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    Kpi,
    KpiDirection,
    KpiMeasurement,
    Priority,
    RequestCategory,
    RequestStatus,
    Role,
)
from portal.service_requests import service as requests
from tests.docgen.reading import full_text, open_docx
from tests.factories import build_account
from tests.helpers import finish_jobs, signed_in

AM = "account.manager@alpha.example"
CLIENT = "client.approver@alpha.example"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def month(alpha, admin, session):
    """Account Alpha's month: OTP amber (98.5 of 99), TAT red, ACC green; two requests
    opened and one resolved; the factory's CR approved; a paid invoice issued and an
    older one overdue; the firm's admin as ``month["admin"]``."""
    world = alpha
    world.objects["admin"] = admin
    account, contract = world.account, world["contract"]
    today = account.today()
    period = today.replace(day=1)
    for position, (code, name, direction, target, actual) in enumerate([
        ("TAT", {"en": "Turnaround time", "zh": "周转时间", "vi": "Thời gian xử lý"}, KpiDirection.LOWER, "2", "3"),
        ("ACC", {"en": "Accuracy"}, KpiDirection.HIGHER, "95", "99"),
    ], start=1):
        kpi = Kpi(account_id=account.id, contract_id=contract.id, position=position, code=code, name=name, unit="%",
                  target=Decimal(target), direction=direction)
        session.add(kpi)
        session.flush()
        session.add(KpiMeasurement(account_id=account.id, kpi_id=kpi.id, period=period, actual=Decimal(actual)))
    client, manager = world.user(Role.CLIENT_APPROVER), world.user(Role.ACCOUNT_MANAGER)
    resolved = requests.create_request(session, account, client, category=RequestCategory.SERVICE,
                                       subject="Payslips late", description="Two payslips missing.",
                                       priority=Priority.HIGH)
    requests.change_status(session, resolved, account, manager, RequestStatus.RESOLVED)
    cr = world["change_request"]
    decide(session, cr, account, client, version=cr.version, decision=Decision.APPROVED, signature_name=client.name)
    for number, issued, due, status in [("INV-PACK-PAID", today, today + timedelta(days=30), InvoiceStatus.PAID),
                                        ("INV-PACK-OLD", today - timedelta(days=70), today - timedelta(days=40),
                                         InvoiceStatus.ISSUED)]:
        session.add(Invoice(account_id=account.id, number=number, contract_id=contract.id, service_location="GB",
                            period_start=issued.replace(day=1), period_end=issued, issue_date=issued, due_date=due,
                            currency="USD", subtotal=Decimal("500"), tax=Decimal(0), total=Decimal("500"),
                            status=status, paid_on=issued if status is InvoiceStatus.PAID else None))
    session.commit()
    world.objects["period"] = period
    return world


def set_languages(session, world, languages: list[str]) -> None:
    world.account.document_languages = languages
    session.commit()


def packs(session) -> list[Document]:
    session.rollback()  # read what the app committed
    return session.scalars(sa.select(Document).where(Document.kind == DocumentKind.REVIEW_PACK)
                           .order_by(Document.id)).all()


def field(text: str, label: str) -> str:
    """The value after ``label`` and its colon (": " or the full-width "：")."""
    match = re.search(rf"^{re.escape(label)}(?:: |：)(.*)$", text, re.M)
    assert match, f"no line {label!r}"
    return match.group(1)


def check_pack(data: bytes, world, language: str) -> None:
    """What the pack must say, in English and in ``language``."""
    document = open_docx(data)
    text = full_text(document)
    catalog = translations(language)
    for code in ("OTP", "TAT", "ACC"):
        assert re.search(rf"^{code}$", text, re.M), code
    for status in ("Green", "Amber", "Red"):
        assert f"{status} / {catalog.gettext(status)}" in text, status  # RAG in both languages
        assert catalog.gettext(status) != status
    for status in ("Issued", "Paid"):
        assert f"{status} / {catalog.pgettext('invoice status', status)}" in text, status
    if language == "zh":
        assert "已付款" in text and "周转时间" in text
    else:
        assert "Đã thanh toán" in text and "Thời gian xử lý" in text
    for label, value in (("Requests opened", "2"), ("Requests closed", "1")):
        assert field(text, label) == value
        assert field(text, catalog.gettext(label)) == value
    cr = world["change_request"]
    assert re.search(rf"^{re.escape(cr.number)}$", text, re.M)
    assert f"Approved / {catalog.gettext('Approved')}" in text
    issued = text[text.index("Invoices issued"):text.index("Open invoices")]
    assert "INV-Alpha-0001" in issued and "INV-PACK-PAID" in issued and "INV-PACK-OLD" not in issued
    still_open = text[text.index("Open invoices"):text.index("Action items")]
    assert "INV-PACK-OLD" in still_open and "INV-PACK-PAID" not in still_open
    [chart] = document.inline_shapes
    images = [rel.target_part for rel in document.part.rels.values() if rel.reltype.endswith("/image")]
    assert len(images) == 1 and images[0].content_type == "image/png" and images[0].blob.startswith(b"\x89PNG")
    assert chart.width > 0
    title = "Overall attainment and share of KPIs met"
    assert f"{title} / {catalog.gettext(title)}" in text


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_command_stores_the_months_review_pack(session, month, runner, language):
    set_languages(session, month, ["en", language])
    period = f"{month['period']:%Y-%m}"
    result = runner.invoke(args=["review-pack", "Account Alpha", period])
    assert result.exit_code == 0, result.output
    [document] = packs(session)
    assert result.output.startswith(f"MSR-{period}-0001: {document.file.size} bytes, sha256 {document.sha256}")
    assert document.number == f"MSR-{period}-0001" and document.account_id == month.account.id
    assert document.languages == ["en", language] and document.contract_id == month["contract"].id
    assert document.file.content_type == DOCX and document.created_by_id == month["admin"].id
    check_pack(document.file.data, month, language)


def test_a_reissued_pack_is_the_next_revision_of_its_number(session, month, runner):
    period = f"{month['period']:%Y-%m}"
    assert runner.invoke(args=["review-pack", "Account Alpha", period]).exit_code == 0
    assert runner.invoke(args=["review-pack", str(month.account.id), period, "--languages", "en"]).exit_code == 0
    assert [(d.number, d.revision) for d in packs(session)] == [(f"MSR-{period}-0001", 1), (f"MSR-{period}-0001", 2)]


@pytest.mark.parametrize(("args", "message"), [
    (["Account Nobody", "2026-11"], "no account named 'Account Nobody'"),
    (["Account Alpha", "2026-13"], "use YYYY-MM"),
    (["Account Alpha", "November"], "use YYYY-MM"),
])
def test_the_command_refuses_an_unknown_account_or_month(session, month, runner, args, message):
    result = runner.invoke(args=["review-pack", *args])
    assert result.exit_code == 2 and message in result.output
    assert packs(session) == []


def test_the_command_needs_an_administrator_to_sign(session, runner):
    build_account(session, "Alpha")
    session.commit()
    result = runner.invoke(args=["review-pack", "Account Alpha", "2026-11"])
    assert result.exit_code == 1 and "an active administrator must exist" in result.output
    assert packs(session) == []


# --- the button ----------------------------------------------------------------------------------


@pytest.mark.parametrize("languages", [["en", "zh"], ["en", "vi"]])
def test_the_button_on_the_scorecard_makes_the_pack_in_the_background(app, session, month, new_browser, languages):
    set_languages(session, month, languages)
    period = f"{month['period']:%Y-%m}"
    url = f"/scorecards/{month.account.id}?period={period}"
    am = signed_in(new_browser, AM)
    assert f'action="/scorecards/{month.account.id}/review-pack?period={period}"' in am.get(url).text
    response = am.post_form(f"/scorecards/{month.account.id}/review-pack?period={period}", page=url)
    assert response.status_code == 302
    job_id = parse_qs(urlsplit(response.location).query)["job"][0]
    assert response.location == f"{url}&job={job_id}"
    finish_jobs(app)
    [document] = packs(session)
    status = am.get(f"/jobs/{job_id}").json
    assert status == {"id": job_id, "status": "finished", "progress": 1.0, "message": "Done",
                      "result_url": f"/documents/{document.id}/download"}
    assert f'href="/documents/{document.id}/download"' in am.get(response.location).text
    assert document.number == f"MSR-{period}-0001" and document.created_by_id == month.user(Role.ACCOUNT_MANAGER).id
    download = am.get(status["result_url"])
    assert download.status_code == 200 and download.mimetype == DOCX and download.data == document.file.data
    check_pack(download.data, month, languages[1])


def test_a_chinese_only_pack_has_no_english_statuses(session, month, runner):
    set_languages(session, month, ["zh"])
    result = runner.invoke(args=["review-pack", "Account Alpha", f"{month['period']:%Y-%m}"])
    assert result.exit_code == 0, result.output
    text = full_text(open_docx(packs(session)[0].file.data))
    zh = translations("zh")
    for status in ("Green", "Amber", "Red"):
        assert zh.gettext(status) in text and not re.search(rf"\b{status}\b", text)
    assert zh.pgettext("invoice status", "Paid") in text and "月度服务回顾" in text


def test_a_client_cannot_make_the_pack(session, month, new_browser):
    period = f"{month['period']:%Y-%m}"
    url = f"/scorecards/{month.account.id}?period={period}"
    client = signed_in(new_browser, CLIENT)
    assert "/review-pack" not in client.get(url).text
    assert client.post_form(f"/scorecards/{month.account.id}/review-pack?period={period}", page=url).status_code == 403
    assert packs(session) == []


def test_the_packs_action_items_are_titled_in_each_language_of_the_pack(session, month, runner):
    month["action"].title_translations = {"zh": "发送标准作业程序", "vi": "Gửi quy trình chuẩn"}
    set_languages(session, month, ["en", "zh"])
    assert runner.invoke(args=["review-pack", "Account Alpha", f"{month['period']:%Y-%m}"]).exit_code == 0
    [document] = packs(session)
    actions = full_text(open_docx(document.file.data)).split("Action items")[-1]
    assert "Action of Alpha" in actions and "发送标准作业程序" in actions and "Gửi quy trình chuẩn" not in actions
