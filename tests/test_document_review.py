"""Regional review before issue, revisions and firm-wide numbers, the prevailing language.

An account that has its Chinese documents reviewed gets a draft when a Chinese document
is issued: the client does not see it, the zh reviewer is told and approves it (bound
to the draft's SHA-256), and only then is it issued. A change request keeps one
amendment number through its revisions; numbers are unique in the firm, and the
migration keeps the numbers of documents issued under the old per-contract scheme."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal.documents import review
from portal.documents.service import issue_amendment, next_number
from portal.domain import Conflict, DomainError
from portal.models import (
    AuditEvent,
    ChangeRequest,
    Document,
    DocumentKind,
    DocumentStatus,
    Role,
)
from tests.conftest import ROOT, app_session, base_config
from tests.factories import build_account
from tests.helpers import assert_error, latest, manager_of, notifications, post, signed_in
from tests.test_documents import APPROVER_NAME, approved

AM, REVIEWER = "account.manager@alpha.example", "regional.reviewer@alpha.example"
VIEWER, APPROVER = "client.viewer@alpha.example", "client.approver@alpha.example"


@pytest.fixture
def alpha(alpha, session):
    """Alpha: documents in English and Chinese, the Chinese ones reviewed by its zh reviewer."""
    alpha.account.document_languages = ["en", "zh"]
    alpha.account.review_languages = ["zh"]
    alpha.user(Role.REGIONAL_REVIEWER).language = "zh"
    alpha.user(Role.CLIENT_APPROVER).name = APPROVER_NAME
    session.commit()
    return alpha


def reviewer_of(world):
    return world.user(Role.REGIONAL_REVIEWER)


def draft(session, world, languages=("en", "zh"), cr=None) -> Document:
    cr = cr or approved(session, world)
    document = issue_amendment(session, cr, world.account, manager_of(world), list(languages))
    session.commit()
    return document


def approve(session, world, document, *, by=None, version=None):
    result = review.approve(session, document, world.account, by or reviewer_of(world),
                            version=version or document.sha256)
    session.commit()
    return result


# --- the draft and its review --------------------------------------------------------------------


def test_a_chinese_document_is_issued_only_once_the_zh_reviewer_approves(session, alpha):
    document = draft(session, alpha)
    assert document.status is DocumentStatus.IN_REVIEW and document.review_languages == ["zh"]
    assert document.issued_at is None and document.file.data  # numbered, rendered and hashed already
    [mail] = notifications(session, "document_review_requested")
    assert mail.recipient_id == reviewer_of(alpha).id and document.number in mail.subject
    assert review.waiting_for(session, reviewer_of(alpha)) == [document]

    approve(session, alpha, document)
    assert document.status is DocumentStatus.ISSUED and document.issued_at is not None
    assert review.waiting_for(session, reviewer_of(alpha)) == []
    [told] = notifications(session, "document_issued_after_review")
    assert told.recipient_id == manager_of(alpha).id
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == document.id,
                                                                 AuditEvent.object_type == "Document")).all()
    assert actions == ["document.drafted", "document.review_approved", "document.issued"]


def test_an_english_document_of_the_same_account_is_issued_at_once(session, alpha):
    document = draft(session, alpha, ["en"])
    assert document.status is DocumentStatus.ISSUED and document.review_languages == []
    assert notifications(session, "document_review_requested") == []


def test_a_draft_needs_a_reviewer_of_its_language_on_the_team(session, alpha):
    reviewer_of(alpha).language = "vi"
    session.commit()
    with pytest.raises(DomainError) as refused:
        draft(session, alpha)
    assert refused.value.status == 409 and "languages" in refused.value.fields
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Document).where(Document.change_request_id.is_not(None))) == 0


def test_the_issuer_cannot_review_their_own_document(session, alpha):
    """The account manager who issued it, made a regional reviewer since, still may not."""
    document = draft(session, alpha)
    issuer = manager_of(alpha)
    issuer.role, issuer.language = Role.REGIONAL_REVIEWER, "zh"
    session.commit()
    with pytest.raises(DomainError) as refused:
        approve(session, alpha, document, by=issuer)
    assert refused.value.status == 403
    session.rollback()
    assert document.status is DocumentStatus.IN_REVIEW and review.waiting_for(session, issuer) == []


def test_an_approval_is_bound_to_the_drafts_hash(session, alpha, monkeypatch):
    """Issued again while in review (here the next day: a new date, a new file), the
    draft has a new hash: an approval of the old one is refused, and the new one needs
    its own review. The comment on the old one stays, marked with its hash."""
    cr = approved(session, alpha)
    first = draft(session, alpha, cr=cr)
    old_hash = first.sha256
    review.comment(session, first, alpha.account, reviewer_of(alpha), version=old_hash, text="请将“价格影响”改为“价格变动”。")
    session.commit()
    [comment_mail] = notifications(session, "document_reviewed")
    assert comment_mail.recipient_id == manager_of(alpha).id and "价格变动" in comment_mail.body

    monkeypatch.setattr("portal.models.account.utcnow", lambda: datetime(2030, 3, 2, 12, 0).astimezone())
    again = draft(session, alpha, cr=cr)
    assert again.id == first.id and (again.number, again.revision) == (first.number, 1)
    assert again.sha256 != old_hash and again.status is DocumentStatus.IN_REVIEW
    with pytest.raises(Conflict):
        approve(session, alpha, again, version=old_hash)
    session.rollback()
    assert latest(session).get(Document, first.id).status is DocumentStatus.IN_REVIEW

    approve(session, alpha, again, version=again.sha256)
    assert again.status is DocumentStatus.ISSUED
    assert [(r.verdict.value, r.version_hash) for r in again.reviews] == [("commented", old_hash),
                                                                          ("approved", again.sha256)]


def test_one_approval_per_hash_and_language(session, alpha):
    document = draft(session, alpha)
    approve(session, alpha, document)
    with pytest.raises(Conflict):
        approve(session, alpha, document, version=document.sha256)


# --- revisions and numbers ---------------------------------------------------------------------------


def test_reissuing_a_change_requests_amendment_keeps_its_number_and_adds_a_revision(session, alpha):
    cr = approved(session, alpha)
    first = draft(session, alpha, ["en"], cr=cr)
    second = draft(session, alpha, ["en", "zh"], cr=cr)
    assert (second.number, second.revision, second.status) == (first.number, 2, DocumentStatus.IN_REVIEW)
    approve(session, alpha, second)
    third = draft(session, alpha, ["zh"], cr=cr)
    assert [d.revision for d in (first, second, third)] == [1, 2, 3]
    assert {d.number for d in (first, second, third)} == {first.number}


def test_two_accounts_first_amendments_of_a_year_get_different_numbers(session, alpha):
    bravo = build_account(session, "Bravo")
    bravo.user(Role.CLIENT_APPROVER).name = APPROVER_NAME
    session.commit()
    ours = draft(session, alpha, ["en"])
    theirs = draft(session, bravo, ["en"])
    year = alpha.account.today().year
    assert (ours.number, theirs.number) == (f"AMD-{year}-0001", f"AMD-{year}-0002")


# --- what each user sees ------------------------------------------------------------------------------


def test_the_client_never_sees_the_draft(session, alpha, client, auth):
    document = draft(session, alpha)
    for email in (VIEWER, APPROVER):
        assert_error(client.get(f"/api/v1/documents/{document.id}", headers=auth(email)), 404)
        assert_error(client.get(f"/api/v1/documents/{document.id}/file", headers=auth(email)), 404)
        listed = client.get("/api/v1/documents", headers=auth(email)).json["items"]
        assert document.id not in {d["id"] for d in listed}
    firm = client.get("/api/v1/documents?status=in_review", headers=auth(AM)).json["items"]
    assert [(d["id"], d["status"], d["review_languages"]) for d in firm] == [(document.id, "in_review", ["zh"])]
    assert "status" in assert_error(client.get("/api/v1/documents?status=draft", headers=auth(AM)), 422)["fields"]


def test_a_client_sees_the_issued_revision_while_the_next_is_in_review(session, alpha, new_browser):
    cr = approved(session, alpha)
    issued = draft(session, alpha, ["en"], cr=cr)
    in_review = draft(session, alpha, ["en", "zh"], cr=cr)
    viewer = signed_in(new_browser, VIEWER)
    page = viewer.get("/documents").text
    assert f"/documents/{issued.id}\"" in page and f"/documents/{in_review.id}\"" not in page
    assert viewer.get(f"/documents/{in_review.id}").status_code == 404
    firm = signed_in(new_browser, AM).get("/documents").text
    assert f"/documents/{in_review.id}\"" in firm and f"/documents/{issued.id}\"" not in firm  # the latest only
    history = signed_in(new_browser, AM).get(f"/documents/{in_review.id}").text
    assert f"/documents/{issued.id}\"" in history and "rev. 2" in history


def test_the_reviewer_reads_comments_and_approves_on_the_pages(session, alpha, new_browser):
    document = draft(session, alpha)
    reviewer = signed_in(new_browser, REVIEWER)
    waiting = reviewer.get("/documents/to-review").text
    assert f"/documents/{document.id}#review" in waiting and "待审阅的文件" in waiting
    page = reviewer.get(f"/documents/{document.id}").text
    assert document.sha256 in page and f"/documents/{document.id}/pdf?preview=1" in page
    url = f"/documents/{document.id}/review"
    no_csrf = reviewer.client.post(url, data={"version": document.sha256, "comment": "x", "send_comment": "1"})
    assert no_csrf.status_code == 400
    sent = reviewer.post_form(url, {"version": document.sha256, "comment": "第二条措辞请再斟酌。", "send_comment": "1"},
                              page=f"/documents/{document.id}")
    assert sent.status_code == 302
    issuer_page = signed_in(new_browser, AM).get(f"/documents/{document.id}").text
    assert "第二条措辞请再斟酌。" in issuer_page
    assert signed_in(new_browser, AM).post_form(url, {"version": document.sha256, "approve": "1"}).status_code == 403

    approved_ = reviewer.post_form(url, {"version": document.sha256, "approve": "1", "typed_name": reviewer_of(alpha).name},
                                   page=f"/documents/{document.id}")
    assert approved_.status_code == 302
    assert latest(session).get(Document, document.id).status is DocumentStatus.ISSUED
    assert signed_in(new_browser, VIEWER).get(f"/documents/{document.id}").status_code == 200  # issued: the client's


def test_the_api_review_approves_by_hash_and_refuses_a_stale_one(session, alpha, client, auth):
    document = draft(session, alpha)
    url = f"/api/v1/documents/{document.id}/review"
    assert_error(post(client, url, auth(AM), {"decision": "approve", "version": document.sha256}), 403)
    assert_error(post(client, url, auth(VIEWER), {"decision": "approve", "version": document.sha256}), 403)
    missing = assert_error(post(client, url, auth(REVIEWER), {"decision": "comment", "version": document.sha256}), 422)
    assert "comment" in missing["fields"]
    assert_error(post(client, url, auth(REVIEWER), {"decision": "approve", "version": "0" * 64}), 409)
    answer = post(client, url, auth(REVIEWER), {"decision": "approve", "version": document.sha256,
                                                 "typed_name": reviewer_of(alpha).name})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["status"] == "issued" and answer.json["reviews"][0]["decision"] == "approve"
    assert answer.json["reviews"][0]["version"] == document.sha256
    assert client.get(f"/api/v1/documents/{document.id}", headers=auth(VIEWER)).status_code == 200


# --- the prevailing language -------------------------------------------------------------------------


def test_the_prevailing_language_goes_to_docgen_from_the_account_or_its_contract(session, alpha, client, auth):
    alpha.account.review_languages = []
    alpha.account.legal_names = {"en": "Account Alpha", "zh": "阿尔法有限公司"}
    alpha["contract"].title = {"en": "Services for Alpha", "zh": "阿尔法服务合同"}
    alpha["scope_line"].service = {"en": "Payroll", "zh": "薪资处理"}
    session.commit()
    answer = client.patch(f"/api/v1/accounts/{alpha.account.id}", json={"prevailing_language": "zh"}, headers=auth(AM))
    assert answer.status_code == 200 and answer.json["prevailing_language"] == "zh"
    refused = client.patch(f"/api/v1/accounts/{alpha.account.id}", json={"prevailing_language": "vi"}, headers=auth(AM))
    assert "prevailing_language" in assert_error(refused, 422)["fields"]
    session.rollback()
    cr = approved(session, alpha)
    assert draft(session, alpha, ["en", "zh"], cr=cr).source["prevailing_language"] == "zh"
    assert "prevailing_language" not in draft(session, alpha, ["en"], cr=cr).source  # one language: nothing prevails

    contract = client.patch(f"/api/v1/contracts/{alpha['contract'].id}", json={"prevailing_language": "en"},
                            headers=auth(AM))
    assert contract.status_code == 200 and contract.json["prevailing_language"] == "en"
    session.rollback()
    assert draft(session, alpha, ["en", "zh"], cr=session.get(ChangeRequest, cr.id)).source["prevailing_language"] == "en"


def test_the_account_form_sets_the_prevailing_language_and_the_review(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/accounts/{alpha.account.id}/edit"
    form = am.get(url)
    assert form.status_code == 200 and 'name="prevailing_language"' in form.text and 'name="review_languages"' in form.text


# --- the migration on a database with the old scheme's duplicates ----------------------------------


def test_the_migration_keeps_old_duplicate_numbers_and_numbers_new_ones_after_them(unmigrated_url):
    with app_session(base_config(unmigrated_url)) as session:
        upgrade(directory=str(ROOT / "migrations"), revision="0017")
        now = datetime(2026, 5, 1, 9, 0).astimezone()
        for n in (1, 2):
            session.execute(sa.text(
                "INSERT INTO accounts (id, name, country, timezone, tier, document_languages, cr_approval_threshold,"
                " created_at, address) VALUES (:id, :name, 'GB', 'UTC', 'key', '[\"en\"]', 0, :now, '{}')"),
                {"id": n, "name": f"Old {n}", "now": now})
            session.execute(sa.text(
                "INSERT INTO contracts (id, account_id, number, title, start_date, end_date, currency, annual_value,"
                " created_at, updated_at) VALUES (:id, :id, :number, '{}', :start, :end, 'USD', 0, :now, :now)"),
                {"id": n, "number": f"MSA-{n}", "start": date(2026, 1, 1), "end": date(2027, 1, 1), "now": now})
            session.execute(sa.text(
                "INSERT INTO stored_files (id, account_id, filename, content_type, size, sha256, data, created_at)"
                " VALUES (:id, :id, 'a.docx', 'x', 1, :sha, :data, :now)"),
                {"id": n, "sha": str(n) * 64, "data": b"x", "now": now})
        # Under the old scheme both contracts had their AMD-2026-0001; the first also a 0002.
        for id_, account, number in ((1, 1, "AMD-2026-0001"), (2, 2, "AMD-2026-0001"), (3, 1, "AMD-2026-0002")):
            session.execute(sa.text(
                "INSERT INTO documents (id, account_id, contract_id, kind, number, title, languages, sha256, file_id,"
                " source, created_at) VALUES (:id, :a, :a, 'amendment', :number, '', '[\"en\"]', :sha, :a, '{}', :now)"),
                {"id": id_, "a": account, "number": number, "sha": str(account) * 64, "now": now})
        session.commit()

        upgrade(directory=str(ROOT / "migrations"))
        rows = session.execute(sa.text("SELECT id, number, revision, status, number_shared FROM documents ORDER BY id"))
        assert [tuple(r) for r in rows] == [(1, "AMD-2026-0001", 1, "issued", False),
                                            (2, "AMD-2026-0001", 1, "issued", True),
                                            (3, "AMD-2026-0002", 1, "issued", False)]
        assert next_number(session, DocumentKind.AMENDMENT, 2026) == "AMD-2026-0003"  # after every old one
        session.rollback()
        with pytest.raises(sa.exc.IntegrityError):  # from now on a number is the firm's once
            session.execute(sa.text(
                "INSERT INTO documents (account_id, contract_id, kind, number, revision, title, languages, sha256,"
                " file_id, source, created_at, updated_at, status, review_languages, number_shared) VALUES"
                " (2, 2, 'amendment', 'AMD-2026-0002', 1, '', '[\"en\"]', :sha, 2, '{}', :now, :now, 'issued',"
                " '[]', false)"), {"sha": "2" * 64, "now": now})
        session.rollback()


def test_a_chinese_reviewer_comments_and_approves_in_chromium(session, alpha, page):
    from tests.conftest import screenshot, sign_in_page

    document = draft(session, alpha)
    sign_in_page(page, REVIEWER)
    page.goto("/documents/to-review")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    page.get_by_role("link", name=document.number).click()
    page.get_by_label("意见").fill("“价格影响”一词请与主服务协议保持一致。")
    page.get_by_role("button", name="提交意见").click()
    assert page.get_by_text(f"您对 {document.number} 的意见已发送给出具人。").count() == 1
    assert page.get_by_text("此草稿正等待该客户以下语言的区域审阅人批准：中文。").count() == 1
    assert page.get_by_text("“价格影响”一词请与主服务协议保持一致。").count() == 1
    screenshot(page, "document-review-zh")
    page.get_by_role("button", name="批准", exact=True).click()
    page.wait_for_url(f"**/documents/{document.id}")
    assert page.get_by_text("该文件已出具").count() == 1
    assert latest(session).get(Document, document.id).status is DocumentStatus.ISSUED
