"""Documents issued from the portal, read back with python-docx: the amendment carries
the client's approval as evidence (typed name, time in the client's time zone, the
version hash, the CR's number and title) and the old terms of a modified line; numbers
run in the firm per kind and local year, a CR keeping its number through revisions; the stored SHA-256 is the file's; work orders
render and are numbered WO-YYYY-NNNN."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import docgen
import pytest
import sqlalchemy as sa
from flask import current_app

from portal.change_requests import service
from portal.change_requests.service import LineInput
from portal.documents import service as documents
from portal.documents.service import issue_amendment
from portal.models import (
    AuditEvent,
    ChangeRequest,
    Contract,
    CRStatus,
    Decision,
    Document,
    DocumentKind,
    LineChange,
    Role,
    ScopeLine,
)
from portal.domain import DomainError
from tests.docgen.reading import full_text, open_docx
from tests.helpers import manager_of, translations

SHANGHAI = ZoneInfo("Asia/Shanghai")
APPROVER_NAME = "王小明"
TITLE = {"en": "Payroll & benefits <Vietnam>", "zh": "越南薪资与福利"}


@pytest.fixture
def alpha(alpha, session):
    """Alpha in Shanghai, documents in English and Chinese, a Chinese approver."""
    alpha.account.timezone = "Asia/Shanghai"
    alpha.account.document_languages = ["en", "zh"]
    alpha.user(Role.CLIENT_APPROVER).name = APPROVER_NAME
    session.commit()
    return alpha


def approved(session, world, lines=None, *, contract=None, title=None):
    """A CR drafted, submitted and approved by the client with a typed name."""
    contract = contract or world["contract"]
    lines = lines or [LineInput(LineChange.ADD, {"en": "Payroll, Vietnam", "zh": "越南薪资"}, "payslip", Decimal(10),
                                Decimal("8.50"))]
    cr = service.create_draft(session, contract, manager_of(world), title=title or TITLE,
                              description={"en": "Ten more payslips a month.", "zh": "每月增加十份工资单。"}, in_scope=False,
                              effective_date=date(2027, 1, 1), lines=lines)
    session.commit()
    service.submit(session, cr, world.account, manager_of(world))
    session.commit()
    service.decide(session, cr, world.account, world.user(Role.CLIENT_APPROVER), version=cr.version,
                   decision=Decision.APPROVED, signature_name=APPROVER_NAME, ip="198.51.100.4")
    session.commit()
    return cr


def amend(session, world, cr, languages=("en",), show_source_text=False) -> Document:
    document = issue_amendment(session, cr, world.account, manager_of(world), list(languages), show_source_text)
    session.commit()
    return document


def text_of(document: Document) -> str:
    return full_text(open_docx(document.file.data))


def line_with(text: str, label: str) -> str:
    [line] = [line for line in text.splitlines() if line.startswith(label)]
    return line


# --- the amendment as evidence -------------------------------------------------------------


def test_the_amendment_carries_the_client_approval(session, alpha):
    cr = approved(session, alpha)
    approval = service.client_approval(cr)
    text = text_of(amend(session, alpha, cr))

    assert f"Change request: {cr.number}: {TITLE['en']}" in text  # "&" and "<" intact
    assert line_with(text, "Approved by:") == f"Approved by: {APPROVER_NAME} (typed signature)"
    assert line_with(text, "Version hash:") == f"Version hash: {cr.version}"
    assert approval.version_hash == cr.version
    # The time of the approval in the client's time zone, not the server's.
    local = approval.decided_at.astimezone(SHANGHAI)
    approved_at = line_with(text, "Approved at:")
    assert f"{local.day} {local:%B %Y}, {local:%H:%M}" in approved_at
    assert "(Asia/Shanghai, UTC+08:00)" in approved_at
    assert f"Represented by: {APPROVER_NAME}" in text


def test_a_modified_line_shows_its_old_terms_and_a_removed_line_its_reduction(session, alpha):
    payroll = alpha["scope_line"]
    extra = ScopeLine(account_id=alpha.account.id, contract=alpha["contract"], position=1, service={"en": "Archiving"},
                      unit="month", quantity=Decimal(12), unit_price=Decimal("250.00"))
    session.add(extra)
    session.commit()
    cr = approved(session, alpha, [
        LineInput(LineChange.MODIFY, {}, "", Decimal(120), Decimal("9.50"), scope_line_id=payroll.id),
        LineInput(LineChange.REMOVE, {}, "", Decimal(0), Decimal(0), scope_line_id=extra.id),
    ])
    lines = text_of(amend(session, alpha, cr)).splitlines()
    # Service, unit, the terms before and after (quantity, unit price), the price impact.
    start = lines.index("Modify")
    assert lines[start + 1:start + 8] == ["Payroll", "payslip", "100", "10.00", "120", "9.50", "Increase of 140.00"]
    removal = lines.index("Remove")
    assert lines[removal + 1:removal + 8] == ["Archiving", "month", "12", "250.00", "—", "—", "Reduction of 3,000.00"]
    total = lines.index("Net price impact")
    assert lines[total + 1] == "Reduction of USD 2,860.00"
    assert lines[total + 2].startswith(
        "Net price impact (in words): A reduction of two thousand, eight hundred and sixty US dollars")
    assert "minus" not in "\n".join(lines).lower()


def test_a_bilingual_amendment_has_both_languages_and_the_same_evidence(session, alpha):
    cr = approved(session, alpha)
    zh = translations("zh")
    text = text_of(amend(session, alpha, cr, ("en", "zh")))
    for label in ("Contract amendment", "Approved by", "Version hash"):
        assert label in text and zh.gettext(label) in text and zh.gettext(label) != label
    assert TITLE["zh"] in text and TITLE["en"] in text
    assert text.count(cr.version) >= 1 and APPROVER_NAME in text and cr.number in text


def test_an_amendment_needs_the_clients_approval(session, alpha):
    pending = alpha["change_request"]
    with pytest.raises(DomainError) as refused:
        issue_amendment(session, pending, alpha.account, manager_of(alpha), ["en"])
    session.rollback()
    assert refused.value.status == 409
    assert session.scalar(sa.select(Document).where(Document.change_request_id == pending.id)) is None


@pytest.mark.parametrize("languages", [["vi"], ["en", "vi"], ["zh", "zh"], ["en", "zh", "vi"], []])
def test_an_amendment_only_in_the_accounts_languages(session, alpha, languages):
    cr = approved(session, alpha)
    with pytest.raises(DomainError) as refused:
        issue_amendment(session, cr, alpha.account, manager_of(alpha), languages)
    session.rollback()
    assert (refused.value.status, refused.value.fields) == (422, {"languages": "not allowed"})


def test_an_implemented_cr_still_gets_its_amendment(session, alpha):
    cr = approved(session, alpha)
    service.implement(session, cr, manager_of(alpha))
    session.commit()
    assert cr.status is CRStatus.IMPLEMENTED
    assert cr.number in text_of(amend(session, alpha, cr))


# --- storage and numbering -------------------------------------------------------------------


def test_the_stored_sha256_is_the_files_and_the_source_renders_the_same_bytes(session, alpha):
    cr = approved(session, alpha)
    document = amend(session, alpha, cr, ("en", "zh"))
    session.expire_all()
    stored = session.get(Document, document.id)
    digest = hashlib.sha256(stored.file.data).hexdigest()
    assert stored.sha256 == stored.file.sha256 == digest
    assert stored.file.size == len(stored.file.data)
    assert stored.file.content_type == documents.DOCX and stored.file.filename == f"{stored.number}.docx"
    assert (stored.kind, stored.languages, stored.change_request_id) == (DocumentKind.AMENDMENT, ["en", "zh"], cr.id)
    assert docgen.render(stored.source) == stored.file.data, "the kept input renders the same document"
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "document.issued",
                                                       AuditEvent.object_id == stored.id))
    assert event.data["sha256"] == digest and event.chain_seq is not None


def _second_contract(session, world) -> Contract:
    contract = Contract(account_id=world.account.id, number="MSA-Alpha-002", title={"en": "Recruitment services"},
                        start_date=date(2026, 1, 1), end_date=date(2028, 12, 31), currency="USD",
                        annual_value=Decimal(0))
    session.add(contract)
    session.commit()
    return contract


def test_amendment_numbers_run_in_the_firm_and_a_change_request_keeps_its_number(session, alpha):
    """Numbers run across contracts (a second contract's first amendment is not a
    second AMD-...-0001); issuing a CR's amendment again is its next revision."""
    year = datetime.now(SHANGHAI).year
    other = _second_contract(session, alpha)
    first = amend(session, alpha, approved(session, alpha))
    second = amend(session, alpha, approved(session, alpha))
    again = amend(session, alpha, session.get(ChangeRequest, second.change_request_id), ["en", "zh"])
    elsewhere = amend(session, alpha, approved(session, alpha, contract=other))
    assert [(d.number, d.revision) for d in (first, second, again, elsewhere)] == [
        (f"AMD-{year}-0001", 1), (f"AMD-{year}-0002", 1), (f"AMD-{year}-0002", 2), (f"AMD-{year}-0003", 1)]
    assert again.label == f"AMD-{year}-0002 rev. 2" and again.languages == ["en", "zh"]
    assert again.source["revision"] == 2 and "revision" not in second.source
    assert elsewhere.contract_id == other.id


@pytest.mark.parametrize(
    ("timezone", "year"),
    [("Asia/Shanghai", 2027), ("Europe/London", 2026), ("America/New_York", 2026)],
)
def test_the_year_in_a_number_is_the_accounts_local_year(session, alpha, monkeypatch, timezone, year):
    cr = approved(session, alpha)
    alpha.account.timezone = timezone
    session.commit()
    new_years_eve = datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # already 1 January in Shanghai
    monkeypatch.setattr("portal.models.account.utcnow", lambda: new_years_eve)
    document = amend(session, alpha, cr)
    assert document.number == f"AMD-{year}-0001"
    assert document.source["date"] == new_years_eve.astimezone(ZoneInfo(timezone)).date().isoformat()


def test_each_year_starts_again_at_one(session, alpha, monkeypatch):
    monkeypatch.setattr("portal.models.account.utcnow", lambda: datetime(2027, 6, 1, tzinfo=UTC))
    assert amend(session, alpha, approved(session, alpha)).number == "AMD-2027-0001"
    assert amend(session, alpha, approved(session, alpha)).number == "AMD-2027-0002"
    monkeypatch.setattr("portal.models.account.utcnow", lambda: datetime(2028, 6, 1, tzinfo=UTC))
    assert amend(session, alpha, approved(session, alpha)).number == "AMD-2028-0001"


def test_a_failed_issue_gives_its_number_back(session, alpha, monkeypatch):
    """A rendering that fails rolls back with the counter: the next issue takes the
    number, so the sequence has no gap."""
    cr = approved(session, alpha)
    render = docgen.render

    def broken(data):
        raise docgen.ValidationError([("lines.0.unit", "unknown unit")])

    monkeypatch.setattr(docgen, "render", broken)
    with pytest.raises(DomainError) as refused:
        issue_amendment(session, cr, alpha.account, manager_of(alpha), ["en"])
    session.rollback()
    assert (refused.value.status, refused.value.fields) == (422, {"lines.0.unit": "unknown unit"})
    monkeypatch.setattr(docgen, "render", render)
    assert amend(session, alpha, cr).number == f"AMD-{datetime.now(SHANGHAI).year}-0001"


# --- work orders -------------------------------------------------------------------------------


def work_order(session, world, *, contract=None, languages=("en",), **overrides) -> Document:
    fields = {
        "title": {"en": "Year-end payroll audit", "zh": "年终薪资审计"}, "description": {"en": "Audit of 2026 payroll.", "zh": "2026年度薪资审计。"},
        "po_number": "PO-7731", "start_date": date(2027, 1, 4), "end_date": date(2027, 2, 26),
        "lines": [{"description": {"en": "Audit day", "zh": "审计日"}, "quantity": "12", "unit": "day",
                   "unit_price": "950.00"}],
        "acceptance_criteria": [{"en": "Findings report accepted by the client.", "zh": "审计报告经客户验收。"}],
        **overrides,
    }
    document = documents.issue_work_order(session, world.account, contract or world["contract"], manager_of(world),
                                          languages=list(languages), **fields)
    session.commit()
    return document


def test_a_work_order_renders_its_terms(session, alpha):
    document = work_order(session, alpha)
    text = text_of(document)
    assert re.fullmatch(r"WO-\d{4}-0001", document.number)
    assert document.kind is DocumentKind.WORK_ORDER and document.change_request_id is None
    for expected in ("Work order", f"No. {document.number}", "PO-7731", "Year-end payroll audit", "Audit day",
                     "11,400.00", "Findings report accepted by the client.", "MSA-Alpha-001"):
        assert expected in text, expected
    assert hashlib.sha256(document.file.data).hexdigest() == document.sha256


def test_a_bilingual_work_order(session, alpha):
    text = text_of(work_order(session, alpha, languages=("en", "zh")))
    zh = translations("zh")
    assert "年终薪资审计" in text and "审计日" in text and zh.gettext("Work order") in text


def test_work_order_numbers_run_in_the_firm_and_apart_from_amendments(session, alpha):
    year = datetime.now(SHANGHAI).year
    other = _second_contract(session, alpha)
    amend(session, alpha, approved(session, alpha))
    numbers = [work_order(session, alpha).number, work_order(session, alpha).number,
               work_order(session, alpha, contract=other).number]
    assert numbers == [f"WO-{year}-0001", f"WO-{year}-0002", f"WO-{year}-0003"]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"end_date": date(2027, 1, 3)}, {"end_date": "before the start date"}),
        ({"lines": []}, {"lines": "required"}),
        ({"lines": [{"description": {"en": "Day"}, "quantity": "lots", "unit": "day", "unit_price": "1"}]}, None),
    ],
    ids=["end-before-start", "no-lines", "quantity-not-a-number"],
)
def test_a_bad_work_order_is_refused_naming_the_field(session, alpha, overrides, fields):
    with pytest.raises(DomainError) as refused:
        work_order(session, alpha, **overrides)
    session.rollback()
    assert refused.value.status == 422
    if fields is not None:
        assert refused.value.fields == fields
    else:
        assert any(path.startswith("lines.0.quantity") for path in refused.value.fields), refused.value.fields
    assert session.scalar(sa.select(Document).where(Document.kind == DocumentKind.WORK_ORDER)) is None


# --- what each reader expects, from the portal's data ---------------------------------------


def test_a_british_client_reads_british_spelling_and_an_american_one_american(session, alpha):
    cr = approved(session, alpha)
    assert alpha.account.country == "GB"
    assert "Authorised signatory:" in text_of(amend(session, alpha, cr))
    alpha.account.country = "US"
    session.commit()
    assert "Authorized signatory:" in text_of(amend(session, alpha, approved(session, alpha)))


def test_the_client_signs_with_the_title_the_account_stores_in_each_language(session, alpha):
    """The approver is the account's legal representative: the title comes from the
    account in Chinese, not the user's English title."""
    alpha.account.representative_name = {"en": APPROVER_NAME}
    alpha.account.representative_title = {"en": "General Director", "zh": "总经理"}
    alpha.user(Role.CLIENT_APPROVER).title = "Head of Finance"
    session.commit()
    text = text_of(amend(session, alpha, approved(session, alpha), ("zh",)))
    assert "职务：总经理" in text and "Head of Finance" not in text


def test_a_providers_common_title_comes_out_in_chinese(session, alpha):
    manager_of(alpha).title = "Client Service Director"
    session.commit()
    text = text_of(amend(session, alpha, approved(session, alpha), ("zh",)))
    assert "职务：客户服务总监" in text and "Client Service Director" not in text


def test_a_vietnamese_document_names_the_firms_city_in_its_place_and_date_line(session, alpha, monkeypatch):
    alpha.account.document_languages = ["en", "vi"]
    session.commit()
    monkeypatch.setitem(current_app.config, "FIRM_CITY", {"en": "Hanoi", "vi": "Hà Nội"})
    # (The change request has English texts only: shown as their source in Vietnamese.)
    text = text_of(amend(session, alpha, approved(session, alpha), ("vi",), show_source_text=True))
    today = alpha.account.today()
    assert f"Hà Nội, ngày {today:%d} tháng {today:%m} năm {today.year}" in text
