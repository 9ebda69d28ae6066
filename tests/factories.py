"""Builders for test data: one client account with something of every kind in it.

``build_account`` is what the access tests use: for account A and account B each, a
user of every role and one row of every account-owned model, so that a user of B can
be pointed at every id of A.
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.admin.service import assign, create_user
from portal.change_requests.service import new_change_request, submit
from portal.files import DOCX
from portal.models import (
    AlertKind,
    PortfolioAlert,
    Account,
    ActionComment,
    ActionItem,
    ActionSource,
    Approval,
    ApprovalStage,
    Attachment,
    ChangeRequestLine,
    Contract,
    CreditNote,
    Decision,
    DecisionRole,
    Document,
    DocumentReview,
    DocumentKind,
    Escalation,
    EscalationContact,
    EscalationTrigger,
    Feedback,
    InAppNotification,
    Interaction,
    InteractionAttendee,
    InteractionKind,
    Invoice,
    Job,
    InvoiceLine,
    InvoiceStatus,
    Kpi,
    KpiDirection,
    KpiComment,
    KpiMeasurement,
    LineChange,
    Opportunity,
    OpportunityLine,
    OpportunityStage,
    Plan,
    PlanReview,
    PlanStatus,
    PlanType,
    PurchaseOrder,
    RevenueForecast,
    ScorecardAcknowledgement,
    Priority,
    RequestCategory,
    RequestComment,
    ReviewDecision,
    ReviewVerdict,
    Role,
    ScopeLine,
    ServiceCredit,
    ServiceCreditStatus,
    ScopeLineVolume,
    ServiceLocation,
    ServiceRequest,
    SlaTarget,
    Stakeholder,
    StoredFile,
    GovernanceMeeting,
    MeetingAttendee,
    MeetingKind,
    MeetingMinutes,
    Cadence,
    Tier,
    User,
)
from portal.plans.service import create_plan, review, submit_for_review
from portal.service_requests.service import create_request
from tests.conftest import PASSWORD


@functools.cache
def _word_file() -> bytes:
    """A small real Word file: the amendment's, which a test (or the hostile-input crawl,
    pressing its "PDF" button) may have converted by LibreOffice."""
    import docx

    document = docx.Document()
    document.add_paragraph("Amendment No. 1")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@dataclass
class AccountWorld:
    account: Account
    users: dict[Role, User] = field(default_factory=dict)
    objects: dict[str, object] = field(default_factory=dict)

    def user(self, role: Role) -> User:
        return self.users[role]

    def __getitem__(self, key: str):
        return self.objects[key]


def make_user(session: Session, email: str, role: Role, account: Account | None = None, **kwargs) -> User:
    return create_user(session, email=email, name=kwargs.pop("name", email.split("@")[0].title()), role=role,
                       password=kwargs.pop("password", PASSWORD), account=account if role.is_client else None, **kwargs)


def make_account(session: Session, name: str, *, currency: str = "USD", country: str = "GB", tz: str = "UTC",
                 languages: list[str] | None = None) -> Account:
    account = Account(name=name, country=country, timezone=tz, tier=Tier.KEY,
                      document_languages=languages or ["en"],
                      cr_approval_threshold=Decimal("50000"))
    session.add(account)
    session.flush()
    return account


def build_account(session: Session, key: str, *, currency: str = "USD", firm_users: bool = True) -> AccountWorld:
    """An account ``key`` with one user per role (firm users assigned only to it) and
    one row of every account-owned model."""
    account = make_account(session, f"Account {key}", currency=currency)
    world = AccountWorld(account)
    for role in Role:
        if role is Role.ADMIN:
            continue
        if role.is_client or firm_users:
            user = make_user(session, f"{role.value.replace('_', '.')}@{key.lower()}.example", role, account)
            if not role.is_client:
                assign(session, user, account)
            world.users[role] = user
    am = world.users.get(Role.ACCOUNT_MANAGER)
    client_user = world.users[Role.CLIENT_APPROVER]

    today = date.today()
    contract = Contract(account_id=account.id, number=f"MSA-{key}-001",
                        title={"en": f"Services for {key}", "zh": f"{key} 服务合同", "vi": f"Dịch vụ cho {key}"},
                        start_date=today - timedelta(days=365), end_date=today + timedelta(days=365),
                        signed_on=today - timedelta(days=370), currency=currency, annual_value=Decimal("120000.00"))
    session.add(contract)
    session.flush()
    scope_line = ScopeLine(account_id=account.id, contract=contract, service={"en": "Payroll"}, unit="payslip",
                           quantity=Decimal(100), unit_price=Decimal("10.00"))
    kpi = Kpi(account_id=account.id, contract=contract, code="OTP", name={"en": "On-time payroll"}, unit="%",
              target=Decimal("99"), direction=KpiDirection.HIGHER)
    session.add_all([
        scope_line, kpi,
        ServiceLocation(account_id=account.id, contract_id=contract.id, country="GB"),
        SlaTarget(account_id=account.id, contract_id=contract.id, priority=Priority.NORMAL,
                  first_response_minutes=540, resolution_minutes=1620),
        EscalationContact(account_id=account.id, level=1, name="Level One", email=f"l1@{key.lower()}.example"),
    ])
    session.flush()
    session.add(KpiMeasurement(account_id=account.id, kpi_id=kpi.id, period=today.replace(day=1), actual=Decimal("98.5")))
    session.add(ScopeLineVolume(account_id=account.id, scope_line_id=scope_line.id, period=today.replace(day=1),
                                quantity=Decimal(9)))

    stored = StoredFile(account_id=account.id, filename="report.pdf", content_type="application/pdf",
                        size=9, sha256=hashlib.sha256(b"%PDF-1.4\n").hexdigest(), data=b"%PDF-1.4\n")
    request = ServiceRequest(account_id=account.id, category=RequestCategory.SERVICE, subject=f"Request of {key}",
                             description="Secret details of " + key, priority=Priority.NORMAL,
                             created_by_id=client_user.id)
    session.add_all([stored, request])
    session.flush()
    comment = RequestComment(account_id=account.id, request_id=request.id, author_id=client_user.id, body="A comment")
    session.add(comment)
    session.flush()
    attachment = Attachment(account_id=account.id, request_id=request.id, comment_id=comment.id, file_id=stored.id)
    feedback = Feedback(account_id=account.id, request_id=request.id, user_id=client_user.id, rating=5)
    escalation = Escalation(account_id=account.id, request_id=request.id, from_level=1, to_level=2,
                            trigger=EscalationTrigger.CLIENT, reason="Too slow")
    invoice = Invoice(account_id=account.id, number=f"INV-{key}-0001", contract_id=contract.id, service_location="GB",
                      period_start=today.replace(day=1), period_end=today, issue_date=today,
                      due_date=today + timedelta(days=30), currency=currency, subtotal=Decimal("1000.00"),
                      tax=Decimal("200.00"), total=Decimal("1200.00"), po_number=f"PO-{key}")
    session.add_all([attachment, feedback, escalation, invoice])
    session.flush()
    session.add(InvoiceLine(account_id=account.id, invoice_id=invoice.id, description="Payroll", quantity=Decimal(100),
                            unit_price=Decimal("10.00"), amount=Decimal("1000.00")))
    credit_note = CreditNote(account_id=account.id, number=f"CN-{key}-0001", invoice_id=invoice.id, issue_date=today,
                             currency=currency, amount=Decimal("120.00"), reason="Correction")
    action = ActionItem(account_id=account.id, title=f"Action of {key}", source=ActionSource.MEETING,
                        due_date=today + timedelta(days=30))
    purchase_order = PurchaseOrder(account_id=account.id, contract_id=contract.id, number=f"PO-{key}", currency=currency,
                                   amount=Decimal("50000.00"), issued_on=today - timedelta(days=60))
    forecast = RevenueForecast(account_id=account.id, month=today.replace(day=1), currency=currency,
                               amount=Decimal("10000.00"))
    # An approved service credit, which the client sees.
    service_credit = ServiceCredit(account_id=account.id, contract_id=contract.id, kpi=kpi, period=today.replace(day=1),
                                   status=ServiceCreditStatus.APPROVED, credit_note=credit_note,
                                   currency=currency, computed_amount=Decimal("4.17"), amount=Decimal("4.17"),
                                   calculation={"kpi": {"code": "OTP", "name": {"en": "On-time payroll"}, "unit": "%",
                                                "target": "99", "actual": "98.5", "direction": "higher"},
                                        "currency": currency, "percent": "5", "lines": [], "subtotal": "4.17",
                                        "caps": [], "amount": "4.17"})
    session.add_all([credit_note, action, purchase_order, forecast, service_credit])
    session.flush()
    action_comment = ActionComment(account_id=account.id, action_id=action.id, author_id=client_user.id, body="On it")
    kpi_comment = KpiComment(account_id=account.id, kpi_id=kpi.id, period=today.replace(day=1), author_id=client_user.id,
                             body="Why below target?")
    acknowledgement = ScorecardAcknowledgement(account_id=account.id, period=today.replace(day=1), user_id=client_user.id)
    stakeholder = Stakeholder(account_id=account.id, name=f"Stakeholder of {key}", title="Finance Director",
                              decision_role=DecisionRole.DECISION_MAKER, email=f"cfo@{key.lower()}.example",
                              notes=f"Notes of the firm on the stakeholder of {key}")
    interaction = Interaction(account_id=account.id, kind=InteractionKind.MEETING, occurred_on=today,
                              subject=f"Account set-up meeting with {key}", summary=f"Summary by the firm of the meeting with {key}")
    session.add_all([action_comment, kpi_comment, acknowledgement, stakeholder, interaction])
    session.flush()
    session.add(InteractionAttendee(account_id=account.id, interaction_id=interaction.id, stakeholder_id=stakeholder.id,
                                    name=stakeholder.name))

    # Every text in each document language, as an issued document needs (the translation gate).
    cr = new_change_request(session, contract, created_by=am,
                            title={"en": f"CR of {key}", "zh": f"{key} 变更请求", "vi": f"Yêu cầu thay đổi của {key}"},
                            description={"en": "More payroll", "zh": "增加薪资服务", "vi": "Bổ sung dịch vụ tính lương"},
                            in_scope=False, effective_date=today + timedelta(days=30))
    cr.lines.append(ChangeRequestLine(change=LineChange.ADD, description={"en": "Payroll, Vietnam", "zh": "越南薪资",
                                                                          "vi": "Tính lương, Việt Nam"}, unit="payslip",
                                      quantity=Decimal(10), unit_price=Decimal("8.50")))
    version = submit(session, cr, account, am)
    approval = Approval(account_id=account.id, change_request_id=cr.id, version_hash="0" * 64, stage=ApprovalStage.INTERNAL,
                        decision=Decision.APPROVED, user_id=am.id if am else None)
    word = _word_file()
    word_file = StoredFile(account_id=account.id, filename=f"AMD-{key}-0001.docx", content_type=DOCX, size=len(word),
                           sha256=hashlib.sha256(word).hexdigest(), data=word)
    session.add(word_file)
    session.flush()
    document = Document(account_id=account.id, contract_id=contract.id, kind=DocumentKind.AMENDMENT, number=f"AMD-{key}-0001",
                        languages=["en"], sha256=word_file.sha256, file_id=word_file.id, source={})
    plan = Plan(account_id=account.id, contract_id=contract.id, plan_type=PlanType.JBP, period="FY2027", currency=currency,
                content={"objectives": [{"en": f"Objective of {key}", "zh": f"{key} 的目标",
                                           "vi": f"Mục tiêu của {key}"}]})
    session.add_all([approval, document, plan])
    session.flush()
    submit_for_review(session, plan, am)
    review = PlanReview(account_id=account.id, plan_id=plan.id, decision="comment", body="Looks fine")
    document_review = DocumentReview(account_id=account.id, document_id=document.id, version_hash=document.sha256,
                                     language="zh", verdict=ReviewVerdict.COMMENTED, comment=f"Wording of {key}")
    job = Job(id=f"job-of-{key.lower()}", kind="review_pack", params={"period": f"{today:%Y-%m}"}, account_id=account.id,
              user_id=(am or client_user).id, message=f"Job message of {key}")
    portfolio_alert = PortfolioAlert(account_id=account.id, kind=AlertKind.CSAT_LOW, period=today.replace(day=1),
                                     detail={"csat": "2.00"})
    opportunity = Opportunity(account_id=account.id, title={"en": f"Opportunity of {key}"}, currency=currency,
                              value=Decimal("850.00"), stage=OpportunityStage.QUALIFIED, probability=30,
                              expected_close=today + timedelta(days=60), notes=f"Pipeline notes of {key}",
                              owner_id=am.id if am else None,
                              lines=[OpportunityLine(account_id=account.id, description={"en": "Payroll, Laos"},
                                                     unit="payslip", quantity=Decimal(100), unit_price=Decimal("8.50"))])
    session.add_all([review, job, document_review, portfolio_alert, opportunity])
    session.flush()
    # The client approver's notification of the change request submitted above.
    notification = session.scalar(sa.select(InAppNotification).where(InAppNotification.recipient_id == client_user.id)
                                  .order_by(InAppNotification.id).limit(1))

    # A monthly service review on the 10th at 09:00 UTC, with the (shared) minutes of this month's.
    meeting = GovernanceMeeting(account_id=account.id, kind=MeetingKind.SERVICE_REVIEW, cadence=Cadence.MONTHLY,
                                day_of_month=10, start_time=time(9, 0), timezone="UTC", location=f"Office of {key}")
    meeting.attendees = [MeetingAttendee(account_id=account.id, user_id=client_user.id, name=client_user.name)]
    session.add(meeting)
    session.flush()
    minutes = MeetingMinutes(account_id=account.id, meeting_id=meeting.id, shared=True, body=f"Minutes of {key}",
                             starts_at=datetime.combine(today.replace(day=10), time(9, 0), tzinfo=timezone.utc))
    session.add(minutes)
    session.flush()

    world.objects.update(
        meeting=meeting, minutes=minutes,
        contract=contract, scope_line=scope_line, kpi=kpi, request=request, comment=comment, attachment=attachment,
        file=stored, feedback=feedback, escalation=escalation, invoice=invoice, credit_note=credit_note, action=action,
        change_request=cr, change_request_version=version, approval=approval, document=document, plan=plan,
        plan_review=review, document_review=document_review, user=client_user, purchase_order=purchase_order, forecast=forecast,
        action_comment=action_comment, kpi_comment=kpi_comment, acknowledgement=acknowledgement,
        stakeholder=stakeholder, interaction=interaction, job=job, notification=notification,
        service_credit=service_credit, portfolio_alert=portfolio_alert, opportunity=opportunity,
    )
    return world


def build_admin(session: Session) -> User:
    return make_user(session, "admin@firm.example", Role.ADMIN)


def raise_request(session: Session, world: AccountWorld, *, by: User | None = None,
                  category: RequestCategory = RequestCategory.SERVICE, subject: str = "Payroll run failed",
                  priority: Priority = Priority.NORMAL, **kwargs) -> ServiceRequest:
    """A service request raised, and committed, by ``world``'s client approver (or ``by``);
    ``kwargs`` as ``create_request`` takes them (``now``, ``files``, ``invoice_id``)."""
    request = create_request(session, world.account, by or world.user(Role.CLIENT_APPROVER), category=category,
                             subject=subject, description="March payroll did not run.", priority=priority, **kwargs)
    session.commit()
    return request


def add_invoice(session: Session, world: AccountWorld, number: str, *, issued: date | None = None, days_ago: int = 0,
                due: date | None = None, due_in: int = 30, total: str = "1000.00", subtotal: str | None = None,
                currency: str = "USD", status: InvoiceStatus = InvoiceStatus.ISSUED, paid_on: date | None = None,
                location: str = "GB", po: str | None = None, period: date | None = None,
                lines: int | list[tuple[str, int, str]] = (), credit: str | None = None) -> Invoice:
    """An invoice on ``world``'s contract, flushed. Issued on ``issued``, else ``days_ago``
    days before the account's today; due ``due``, else ``due_in`` days later; ``total``
    of which ``subtotal`` is net (no tax by default); a paid one paid on its issue day
    unless ``paid_on``; for the four weeks from ``period`` (default the first of the issue
    month). ``lines``: (description, quantity, unit price) each, or a number of equal
    lines "Line N of NUMBER" of quantity 1. ``credit``: the amount of a credit note on it."""
    issued = issued or world.account.today() - timedelta(days=days_ago)
    period = period or issued.replace(day=1)
    net = Decimal(subtotal) if subtotal is not None else Decimal(total)
    invoice = Invoice(account_id=world.account.id, number=number, contract_id=world["contract"].id,
                      service_location=location, period_start=period, period_end=period + timedelta(days=27),
                      issue_date=issued, due_date=due or issued + timedelta(days=due_in), currency=currency,
                      subtotal=net, tax=Decimal(total) - net, total=Decimal(total), po_number=po, status=status,
                      paid_on=paid_on or (issued if status is InvoiceStatus.PAID else None))
    session.add(invoice)
    session.flush()
    if isinstance(lines, int):
        lines = [(f"Line {n} of {number}", 1, Decimal(total) / lines) for n in range(lines)]
    for position, (description, quantity, unit_price) in enumerate(lines):
        session.add(InvoiceLine(account_id=world.account.id, invoice_id=invoice.id, position=position,
                                description=description, quantity=Decimal(quantity), unit_price=Decimal(unit_price),
                                amount=Decimal(quantity) * Decimal(unit_price)))
    if credit:
        session.add(CreditNote(account_id=world.account.id, number=f"CN-{number}", invoice_id=invoice.id,
                               issue_date=issued, currency=currency, amount=Decimal(credit), reason="Correction"))
    session.flush()
    return invoice


def plan_in_review(session: Session, world: AccountWorld, content: dict) -> Plan:
    """``world``'s JBP FY2028 with ``content``, drafted and submitted for review by its
    account manager; committed."""
    manager = world.user(Role.ACCOUNT_MANAGER)
    plan = create_plan(session, world.account, manager, plan_type=PlanType.JBP, period="FY2028", content=content)
    submit_for_review(session, plan, manager)
    session.commit()
    return plan


def plan_awaiting_signoff(session: Session, world: AccountWorld, content: dict) -> Plan:
    """A plan in review that ``world``'s regional reviewer approved, now the client
    approver's to sign off; committed."""
    plan = plan_in_review(session, world, content)
    review(session, plan, world.account, world.user(Role.REGIONAL_REVIEWER), decision=ReviewDecision.APPROVE)
    session.commit()
    assert plan.status is PlanStatus.PENDING_SIGNOFF
    return plan
