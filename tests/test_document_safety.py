"""Safe to send, from the portal: an issue is refused for a text without a translation in
a language of the document (unless the issuer chooses to show the source text, marked)
and for a character no font of the document has, on the HTML forms (what was typed
kept, the problem beside its field, the message in the user's language) and on the API
(the standard error with ``fields``); the review pack, made by a job, shows the source."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.change_requests import service
from portal.change_requests.service import LineInput
from portal.kpis import review_pack
from portal.models import Decision, Document, DocumentKind, LineChange, PlanType, Role
from portal.plans.service import create_plan, submit_for_review
from tests.docgen.reading import full_text, open_docx
from tests.helpers import assert_error, flashes, latest, manager_of, post, signed_in, translated

AM = "account.manager@alpha.example"
EMOJI = "\N{GRINNING FACE}"
EXTENSION_B = "\U00020000"


@pytest.fixture
def alpha(alpha, session):
    """Alpha's documents in English and Chinese."""
    alpha.account.document_languages = ["en", "zh"]
    session.commit()
    return alpha


def approved(session, world, title) -> object:
    """A CR titled ``title``, submitted and approved by the client."""
    cr = service.create_draft(
        session, world["contract"], manager_of(world), title=title,
        description={"en": "Ten more payslips a month.", "zh": "每月增加十份工资单。"}, in_scope=False,
        effective_date=date(2027, 1, 1),
        lines=[LineInput(LineChange.ADD, {"en": "Payroll, Vietnam", "zh": "越南薪资"}, "payslip", Decimal(10),
                         Decimal("8.50"))])
    service.submit(session, cr, world.account, manager_of(world))
    service.decide(session, cr, world.account, world.user(Role.CLIENT_APPROVER), version=cr.version,
                   decision=Decision.APPROVED, signature_name="Client.Approver")
    session.commit()
    return cr


def documents(session, **where) -> list[Document]:
    return latest(session).scalars(sa.select(Document).filter_by(**where)).all()


def text_of(document: Document) -> str:
    return full_text(open_docx(document.file.data))


# --- the translation gate -----------------------------------------------------------------


def test_the_api_refuses_a_chinese_amendment_whose_title_has_only_english(session, alpha, client, auth):
    cr = approved(session, alpha, {"en": "Payroll in Vietnam"})
    url = f"/api/v1/change-requests/{cr.id}/amendment"
    error = assert_error(post(client, url, auth(AM), {"languages": ["en", "zh"]}), 422)
    assert error["fields"] == {"change_request.title.zh": "no translation"}
    assert "Change request › Title (Chinese)" in error["message"]
    assert documents(session, change_request_id=cr.id) == []

    issued = post(client, url, auth(AM), {"languages": ["en", "zh"], "show_source_text": True})
    assert issued.status_code == 201, issued.json
    [document] = documents(session, change_request_id=cr.id)
    assert document.source["untranslated"] == "show_source"
    assert "Payroll in Vietnam（英文原文）" in text_of(document)
    assert "Payroll in Vietnam (English original)" not in text_of(document)  # the English column is the source


def test_the_amendment_form_refuses_in_the_users_language_and_issues_when_the_source_is_shown(
        session, alpha, new_browser):
    alpha.user(Role.ACCOUNT_MANAGER).language = "zh"
    session.commit()
    cr = approved(session, alpha, {"en": "Payroll in Vietnam"})
    am = signed_in(new_browser, AM)
    url = f"/change-requests/{cr.id}"
    refused = am.post_form(f"{url}/amendment", {"languages": "zh", "submit": "Issue amendment"}, page=url)
    assert refused.status_code == 200
    message = flashes(refused.text)
    assert "变更请求 › 标题（中文）" in message
    assert translated("zh", "Show the source text where a translation is missing") in refused.text
    assert documents(session, change_request_id=cr.id) == []

    am.post_form(f"{url}/amendment", {"languages": "zh", "show_source_text": "y", "submit": "Issue amendment"},
                 page=url)
    [document] = documents(session, change_request_id=cr.id)
    assert "Payroll in Vietnam（英文原文）" in text_of(document)


def test_a_work_order_lists_every_missing_translation_by_field(session, alpha, client, auth):
    body = {
        "account_id": alpha.account.id, "languages": ["en", "zh"], "po_number": "PO-7731",
        "start_date": "2027-01-04", "end_date": "2027-02-26",
        "title": {"en": "Year-end payroll audit", "zh": "年终薪资审计"}, "description": {"en": "Audit of payroll."},
        "lines": [{"description": {"en": "Audit day", "zh": "审计日"}, "quantity": "1", "unit": "day",
                   "unit_price": "950"},
                  {"description": {"en": "Report"}, "quantity": "1", "unit": "day", "unit_price": "950"}],
        "acceptance_criteria": [{"en": "Report accepted.", "zh": "报告经验收。"}, {"en": "Findings closed."}],
    }
    error = assert_error(post(client, "/api/v1/work-orders", auth(AM), body), 422)
    assert error["fields"] == {"description.zh": "no translation", "lines.1.description.zh": "no translation",
                               "acceptance_criteria.1.zh": "no translation"}
    assert "Line 2 › Description (Chinese)" in error["message"]
    assert "Acceptance criterion 2 (Chinese)" in error["message"]
    assert documents(session, kind=DocumentKind.WORK_ORDER) == []


def test_the_work_order_form_pairs_acceptance_criteria_by_line_and_marks_the_missing_one(
        session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    page = f"/work-orders/new?account={alpha.account.id}"
    form = {
        "title_en": "Year-end payroll audit", "title_zh": "年终薪资审计", "description_en": "Audit.",
        "description_zh": "审计。", "po_number": "PO-7731", "start_date": "2027-01-04", "end_date": "2027-02-26",
        "acceptance_en": "Report accepted.\nFindings closed.", "acceptance_zh": "报告经验收。",
        "languages": "en+zh", "lines-0-description_en": "Audit day", "lines-0-description_zh": "审计日",
        "lines-0-unit": "day", "lines-0-quantity": "12", "lines-0-unit_price": "950.00", "save": "Issue work order",
    }
    refused = am.post_form(page, form, page=page)
    assert refused.status_code == 200
    assert "Acceptance criterion 2 (Chinese)" in flashes(refused.text)
    assert "Findings closed." in refused.text  # what was typed is kept
    assert documents(session, kind=DocumentKind.WORK_ORDER) == []

    am.post_form(page, {**form, "acceptance_zh": "报告经验收。\n问题均已关闭。"}, page=page)
    [document] = documents(session, kind=DocumentKind.WORK_ORDER)
    assert document.source["acceptance_criteria"] == [
        {"en": "Report accepted.", "zh": "报告经验收。"}, {"en": "Findings closed.", "zh": "问题均已关闭。"}]


def test_a_plan_document_is_refused_for_an_untranslated_objective_unless_the_source_is_shown(
        session, alpha, client, auth):
    plan = create_plan(session, alpha.account, manager_of(alpha), plan_type=PlanType.QBP, period="2027-Q1",
                       content={"objectives": [{"en": "Close payroll by day 3"}]})
    submit_for_review(session, plan, manager_of(alpha))
    session.commit()
    url = f"/api/v1/plans/{plan.id}/document"
    error = assert_error(post(client, url, auth(AM), {"languages": ["zh"]}), 422)
    assert error["fields"] == {"objectives.0.zh": "no translation"}
    assert post(client, url, auth(AM), {"languages": ["zh"], "show_source_text": True}).status_code == 201
    [document] = documents(session, plan_id=plan.id)
    assert "Close payroll by day 3（英文原文）" in text_of(document)


def test_the_review_pack_made_by_a_job_shows_an_untranslated_kpi_name_as_its_source(session, alpha):
    """The factories' KPI is named in English only: the monthly job cannot ask anyone."""
    today = alpha.account.today()
    pack = review_pack.issue(session, alpha.account, today.replace(day=1), manager_of(alpha), ["en", "zh"])
    session.commit()
    assert pack.source["untranslated"] == "show_source"
    assert "On-time payroll（英文原文）" in text_of(pack)


# --- the glyph preflight ------------------------------------------------------------------


def test_the_work_order_form_refuses_an_emoji_naming_the_field_and_the_character_in_chinese(
        session, alpha, new_browser):
    alpha.user(Role.ACCOUNT_MANAGER).language = "zh"
    session.commit()
    am = signed_in(new_browser, AM)
    page = f"/work-orders/new?account={alpha.account.id}"
    form = {
        "title_en": "Year-end payroll audit", "title_zh": "年终薪资审计", "po_number": "PO-7731",
        "start_date": "2027-01-04", "end_date": "2027-02-26", "languages": "en+zh",
        "lines-0-description_en": "Audit day", "lines-0-description_zh": f"审计日{EMOJI}", "lines-0-unit": "day",
        "lines-0-quantity": "12", "lines-0-unit_price": "950.00", "save": "Issue work order",
    }
    refused = am.post_form(page, form, page=page)
    assert refused.status_code == 200
    message = flashes(refused.text)
    assert f"第 1 行 › 说明（中文）中的 {EMOJI}（U+1F600）" in message
    assert "文件所用字体均不含以下字符，打印时将显示为空白方框" in message
    # the problem beside the field, and what was typed kept
    line = re.search(r'<input[^>]*name="lines-0-description_zh"[^>]*>', refused.text).group(0)
    assert f'value="审计日{EMOJI}"' in line and 'aria-invalid="true"' in line
    assert translated("zh", "A character here cannot be printed: no font of the document has it.") in refused.text
    assert documents(session, kind=DocumentKind.WORK_ORDER) == []


def test_the_api_refuses_a_cjk_extension_b_character_in_vietnamese_words(session, alpha, client, auth):
    alpha.user(Role.ACCOUNT_MANAGER).language = "vi"
    session.commit()
    body = {
        "account_id": alpha.account.id, "languages": ["en", "zh"], "po_number": "PO-7731",
        "start_date": "2027-01-04", "end_date": "2027-02-26", "description": {"en": "Audit.", "zh": "审计。"},
        "title": {"en": "Year-end payroll audit", "zh": f"年终{EXTENSION_B}薪资审计"},
        "lines": [{"description": {"en": "Audit day", "zh": "审计日"}, "quantity": "1", "unit": "day",
                   "unit_price": "950"}],
    }
    error = assert_error(post(client, "/api/v1/work-orders", auth(AM), body), 422)
    assert error["fields"] == {"title.zh": f"no font has {EXTENSION_B} (U+20000)"}
    assert f"{EXTENSION_B} (U+20000) trong Tiêu đề (tiếng Trung)" in error["message"]
    assert "Phông chữ của văn bản không có các ký tự sau" in error["message"]
    assert documents(session, kind=DocumentKind.WORK_ORDER) == []
