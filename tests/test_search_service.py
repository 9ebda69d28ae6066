"""Search: by number or by words of a title in any of the three languages, and only
what the searcher may see (run on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portal.change_requests.service import new_change_request
from portal.domain import DomainError
from portal.models import ActionItem, ActionSource, Document, DocumentKind, DocumentStatus, Plan, PlanStatus, PlanType, Role
from portal.search import service
from portal.security import scope_for, scoped_to
from tests.factories import add_invoice
from tests.test_access import secrets_of


@pytest.fixture
def results(session):
    """``results(user, text)``: ``user``'s search, in ``user``'s scope (their accounts,
    and for a client user the models' client policies), as their requests run it."""

    def run(user, text, language="en") -> service.Results:
        with scoped_to(scope_for(user)):
            return service.search(session, user, text, language=language)

    return run


@pytest.fixture
def find(results):
    """``find(user, text)``: the hits of ``user``'s search as (kind, id, account_id, title)."""
    return lambda user, text, language="en": [(hit.kind, hit.id, hit.account_id, hit.title)
                                              for hit in results(user, text, language).hits]


def ids(hits, kind):
    return [hit[1] for hit in hits if hit[0] == kind]


def add_action(session, world, title: str) -> ActionItem:
    """An open action item of ``world`` titled ``title``, committed."""
    action = ActionItem(account_id=world.account.id, title=title, source=ActionSource.MEETING,
                        due_date=date.today() + timedelta(days=10))
    session.add(action)
    session.commit()
    return action


def test_a_chinese_word_is_found_inside_a_phrase(session, alpha, find):
    cr = alpha["change_request"]
    cr.title = {"en": "Payroll for the Vietnam entity", "zh": "越南薪资处理", "vi": "Tính lương cho pháp nhân Việt Nam"}
    session.commit()

    client = alpha.user(Role.CLIENT_APPROVER)
    assert ids(find(client, "薪资"), "change_request") == [cr.id]
    # whatever the reader's language, and titled in it
    assert find(client, "薪资", language="zh") == [("change_request", cr.id, alpha.account.id, "CR-0001 越南薪资处理")]
    assert find(client, "薪资", language="vi")[0][3] == "CR-0001 Tính lương cho pháp nhân Việt Nam"


def test_an_action_item_is_found_by_its_title_in_another_language_and_titled_in_the_readers(session, alpha, find):
    action = add_action(session, alpha, "Confirm the annual audit timetable")
    action.title_translations = {"zh": "确认年度审计时间表", "vi": "Xác nhận lịch kiểm toán năm"}
    session.commit()

    client = alpha.user(Role.CLIENT_APPROVER)
    assert find(client, "审计", language="zh") == [("action", action.id, alpha.account.id, "确认年度审计时间表")]
    assert ids(find(client, "kiểm toán", language="vi"), "action") == [action.id]
    assert find(client, "audit", language="en")[0][3] == "Confirm the annual audit timetable"


def test_a_vietnamese_word_with_diacritics_is_found_whatever_its_case(session, alpha, find):
    action = add_action(session, alpha, "Đối soát bảng lương tháng 3")

    viewer = alpha.user(Role.CLIENT_VIEWER)
    for text in ("bảng lương", "BẢNG LƯƠNG", "Đối soát", "đối SOÁT"):
        assert ids(find(viewer, text), "action") == [action.id], text
    assert ids(find(viewer, "bang luong"), "action") == []  # diacritics are letters of their own


def test_every_word_must_match_somewhere_in_the_object(session, alpha, find):
    cr = alpha["change_request"]
    cr.title = {"en": "Add payroll for Vietnam entity", "zh": "新增越南实体薪资服务"}
    session.commit()
    manager = alpha.user(Role.ACCOUNT_MANAGER)

    assert ids(find(manager, "payroll vietnam"), "change_request") == [cr.id]
    assert ids(find(manager, "VIETNAM 薪资"), "change_request") == [cr.id]  # one word in each language
    assert ids(find(manager, "payroll singapore"), "change_request") == []


def test_an_invoice_is_found_by_its_number_the_exact_one_first(session, alpha, find):
    longer = add_invoice(session, alpha, "INV-2027-00421")
    exact = add_invoice(session, alpha, "INV-2027-0042", po="PO-7781")
    session.commit()
    finance = alpha.user(Role.FINANCE)

    assert ids(find(finance, "INV-2027-0042"), "invoice") == [exact.id, longer.id]
    assert ids(find(finance, "inv-2027-0042"), "invoice") == [exact.id, longer.id]
    assert ids(find(finance, "2027-00421"), "invoice") == [longer.id]
    assert ids(find(finance, "PO-7781"), "invoice") == [exact.id]
    assert ids(find(finance, "CN-Alpha-0001"), "invoice") == [alpha["invoice"].id]  # its credit note's number
    assert find(finance, "INV-2027-0042")[0] == ("invoice", exact.id, alpha.account.id, "INV-2027-0042")


def test_numbers_of_change_requests_documents_and_requests(session, alpha, find):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    assert ids(find(manager, "CR-0001"), "change_request") == [alpha["change_request"].id]
    assert ids(find(manager, "amd-alpha"), "document") == [alpha["document"].id]
    request = alpha["request"]
    assert ids(find(manager, f"#{request.id}"), "request") == [request.id]


def test_plans_by_period_by_the_name_of_their_type_in_any_language_and_by_their_words(session, alpha, find):
    plan = alpha["plan"]
    approver = alpha.user(Role.CLIENT_APPROVER)
    for text in ("FY2027", "jbp", "Joint business", "联合业务计划", "Kế hoạch kinh doanh chung", "Mục tiêu của Alpha",
                 "Alpha 的目标"):
        assert ids(find(approver, text), "plan") == [plan.id], text
    assert find(approver, "FY2027", language="zh")[0][3] == "联合业务计划 FY2027"


def test_percent_and_underscore_are_matched_as_typed(session, alpha, find):
    action = add_action(session, alpha, "Reach 100% on_time payslips")
    manager = alpha.user(Role.ACCOUNT_MANAGER)

    assert ids(find(manager, "100%"), "action") == [action.id]
    assert ids(find(manager, "on_time"), "action") == [action.id]
    assert find(manager, "%%") == [] and find(manager, "__") == []


def test_never_another_accounts_object(worlds, find):
    """Every user of Bravo searches for every secret and number of Alpha: nothing of
    Alpha comes back, while the same searches find Bravo's own objects."""
    alpha, bravo = worlds
    texts = secrets_of(alpha) + [alpha["credit_note"].number, alpha["invoice"].po_number, "Alpha", "FY2027", "CR-0001",
                                 f"#{alpha['request'].id}", "Alpha 变更请求", "Yêu cầu thay đổi của Alpha"]
    for role, user in bravo.users.items():
        found = [hit for text in texts for hit in find(user, text)]
        assert all(hit[2] == bravo.account.id for hit in found), f"{role.value} of Bravo found {found}"
        assert {hit[0] for hit in found} >= {"plan", "change_request"}  # FY2027 and CR-0001: Bravo's own


def test_never_a_draft_for_a_client(session, alpha, find):
    """A draft change request, a plan not yet sent for review, a document in regional
    review and the firm's edits to a plan in review: the firm finds them, the client
    does not."""
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    draft = new_change_request(session, alpha["contract"], created_by=manager,
                               title={"en": "Draft payroll idea", "zh": "草稿薪资方案"}, description={"en": "x"},
                               in_scope=False, effective_date=date.today() + timedelta(days=30))
    draft_plan = Plan(account_id=alpha.account.id, contract_id=alpha["contract"].id, plan_type=PlanType.QBP,
                      period="2027-Q1", currency="USD", status=PlanStatus.DRAFT,
                      content={"objectives": [{"en": "Draft objective zebra"}]})
    in_review = Document(account_id=alpha.account.id, contract_id=alpha["contract"].id, kind=DocumentKind.WORK_ORDER,
                         number="WO-Alpha-0009", title="Zebra work order", status=DocumentStatus.IN_REVIEW,
                         languages=["en"], sha256=alpha["file"].sha256, file_id=alpha["file"].id, source={})
    plan = alpha["plan"]
    plan.content = {**plan.content, "objectives": [*plan.content["objectives"], {"en": "Unsent zebra objective"}]}
    session.add_all([draft_plan, in_review])
    session.commit()

    for text in ("草稿薪资", "Draft payroll", "2027-Q1", "WO-Alpha-0009", "zebra"):
        firm = find(manager, text)
        assert firm, f"the firm finds {text}"
        for role in (Role.CLIENT_APPROVER, Role.CLIENT_VIEWER):
            assert find(alpha.user(role), text) == [], f"a {role.value} found {text}"
    assert ids(find(manager, "草稿薪资"), "change_request") == [draft.id]
    assert ids(find(manager, "zebra"), "plan") == [draft_plan.id, plan.id]
    assert ids(find(alpha.user(Role.CLIENT_APPROVER), "Objective of Alpha"), "plan") == [plan.id]  # as sent


def test_results_are_bounded_and_each_kind_keeps_a_share(session, alpha, results):
    today = date.today()
    session.add_all([ActionItem(account_id=alpha.account.id, title=f"Quokka follow-up {n}", source=ActionSource.MEETING,
                                due_date=today + timedelta(days=5)) for n in range(service.LIMIT + 10)])
    add_invoice(session, alpha, "QUOKKA-1", total="10.00")
    session.commit()

    found = results(alpha.user(Role.ACCOUNT_MANAGER), "quokka")
    assert len(found.hits) == service.LIMIT and found.more
    assert [hit.kind for hit in found.hits].count("invoice") == 1
    assert [kind for kind, _hits in found.by_kind()] == ["invoice", "action"]
    assert not results(alpha.user(Role.ACCOUNT_MANAGER), "quokka-1").more


@pytest.mark.parametrize("text", ["", " ", "a", "薪", "x" * (service.MAX_LENGTH + 1)])
def test_a_query_too_short_or_too_long_is_refused_with_a_reason(alpha, find, text):
    with pytest.raises(DomainError) as refused:
        find(alpha.user(Role.CLIENT_APPROVER), text)
    assert refused.value.status == 422 and refused.value.fields == {"q": "2 to 100 characters"}


def test_the_query_is_read_as_composed_unicode(session, alpha, find):
    action = add_action(session, alpha, "Đo lường chất lượng")
    decomposed = "lu\u031bo\u031b\u0300ng"  # "lường" typed as letters and combining marks
    assert ids(find(alpha.user(Role.CLIENT_APPROVER), decomposed), "action") == [action.id]
    assert service.normalize("  CR-0042 \t  payroll ") == "CR-0042 payroll"
    # As copied out of a document: word joiners, a zero-width space, a soft hyphen, no-break spaces.
    assert service.normalize("CR-\u20600042\u00a0pay\u00adroll\u200b") == "CR-0042 payroll"
