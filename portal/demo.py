"""Demo data for ``flask seed-demo``: three client accounts and the firm's team.

The demo has to show every workflow of the product on first sign-in, in each of its
three languages, so the data is a small but complete story per account: a contract in
force today, a year of invoices and KPI actuals (with the overdue invoice, the dispute,
the red KPI and the service credit that the pages are built to surface), open requests
with SLA clocks, the action registry, change requests in each state and a JBP under
review. Everything is dated relative to today, so the story stays current whenever the
demo is loaded.

The data is written as plain tables per account (``ACCOUNTS``); the builders below turn
them into rows through the services the portal itself uses, so the demo cannot drift
from what the portal makes: users, requests and their threads, ratings, action items,
change requests and their approval, plans and their reviews, and the invoices, credit
notes and KPI actuals through the imports the billing system and the measurement
sources use. Each step is taken by the person who would take it (the account manager
drafts and submits, the client's approver decides, the client raises and rates its
requests) and under the services' rules, at its own time (the services' ``now``), so
the SLA clocks run on the account's business calendar. Accounts, contracts, their KPIs
(with the service credits of SLAs and the contract's caps on them), escalation matrices
and purchase orders go through the onboarding, KPI and people services too. The audit
log and the notification outbox hold what the services write, stamped with the time of
the load. Only a contract's SLA targets per request priority have no service yet and
are written as rows. ``load`` only flushes; the CLI commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from docgen.formatting import quantize_money
from portal.actions import service as actions
from portal.admin.service import create_user
from portal.billing import imports as invoice_imports
from portal.change_requests.service import LineInput, create_draft, decide, submit
from portal.credits import service as credits
from portal.documents import review as document_review
from portal.documents.service import issue_work_order
from portal.kpis import imports as kpi_imports
from portal.kpis.service import KpiDefinition, save_kpi
from portal.accounts import TEAM_ROLES
from portal.onboarding.service import (
    AccountDetails,
    ContractDetails,
    LocationDetails,
    PurchaseOrderDetails,
    ScopeLineDetails,
    create_account,
    create_contract,
    save_purchase_order,
)
from portal.meetings import service as meetings_service
from portal.people.service import ContactInput, TeamMember, replace_escalation_matrix, set_team
from portal.models import (
    Account,
    ActionItem,
    ActionSource,
    ActionStatus,
    Cadence,
    ChangeRequest,
    Contract,
    CreditNote,
    CRStatus,
    Decision,
    DocumentStatus,
    EscalationTrigger,
    Feedback,
    Invoice,
    InvoiceStatus,
    Kpi,
    KpiDirection,
    KpiMeasurement,
    LineChange,
    MeetingKind,
    OpportunityStage,
    OwnerSide,
    Plan,
    PlanType,
    Priority,
    RequestCategory,
    RequestStatus,
    ReviewDecision,
    Role,
    ServiceCreditStatus,
    ServiceRequest,
    SlaTarget,
    Tier,
    User,
)
from portal.models.base import utcnow
from portal.plans.service import create_plan, review, submit_for_review
from portal.volumes.imports import read_volume_file, upsert_volumes
from portal.pipeline import service as pipeline
from portal.pipeline.quotations import issue_quotation
from portal.service_requests.service import add_comment, change_status, create_request, escalate, give_feedback

DEFAULT_PASSWORD = "portal-demo-2026"

FIRM = "Meridian Business Services Ltd"

# A text is a plain string (English only) or a tuple in the account's document
# languages, e.g. ("Payroll processing", "薪资核算") for ["en", "zh"].
Text = str | tuple[str, ...]

# --- tables of plain data ---------------------------------------------------------------


class DemoUser(NamedTuple):
    email: str
    name: str
    role: Role
    accounts: tuple[str, ...]  # a client user's one account; a firm user's assignments
    language: str
    timezone: str
    title: str
    locale: str | None = None  # the firm in Singapore and the client in London write British English
    # A client approver's approval limit (the client's delegation of authority); None: no limit.
    approval_limit: str | None = None


ALL = ("acme", "huanan", "saoviet")
FIRM_TEAM = {"admin": "admin@firm.example", "am": "am@firm.example", "finance": "finance@firm.example"}
PERSON_KEYS = {Role.CLIENT_APPROVER: "approver", Role.CLIENT_VIEWER: "viewer", Role.REGIONAL_REVIEWER: "reviewer"}

USERS = [
    DemoUser("admin@firm.example", "Rachel Tan", Role.ADMIN, (), "en", "Asia/Singapore", "Account Team Lead", "en-GB"),
    DemoUser("am@firm.example", "Marcus Lee", Role.ACCOUNT_MANAGER, ALL, "en", "Asia/Singapore", "Client Service Manager",
             "en-GB"),
    DemoUser("finance@firm.example", "Priya Raman", Role.FINANCE, ALL, "en", "Asia/Singapore", "Financial Service Manager",
             "en-GB"),
    DemoUser("reviewer.cn@firm.example", "周敏", Role.REGIONAL_REVIEWER, ("huanan",), "zh", "Asia/Shanghai",
             "Regional Reviewer, Greater China"),
    DemoUser("reviewer.vn@firm.example", "Nguyễn Thu Hà", Role.REGIONAL_REVIEWER, ("saoviet",), "vi", "Asia/Ho_Chi_Minh",
             "Regional Reviewer, Vietnam"),
    # Emma approves Acme's pending change request alone; the Manchester network CR (above
    # the firm's threshold) needs a second approver once the firm approves it internally.
    DemoUser("approver@acme.example", "Emma Richardson", Role.CLIENT_APPROVER, ("acme",), "en", "Europe/London",
             "Finance Director", "en-GB", approval_limit="25000"),
    DemoUser("viewer@acme.example", "Tom Whitaker", Role.CLIENT_VIEWER, ("acme",), "en", "Europe/London", "Payroll Manager",
             "en-GB"),
    DemoUser("approver@huanan.example", "王晓梅", Role.CLIENT_APPROVER, ("huanan",), "zh", "Asia/Shanghai", "财务总监"),
    DemoUser("approver@saoviet.example", "Lê Thị Thanh Hương", Role.CLIENT_APPROVER, ("saoviet",), "vi", "Asia/Ho_Chi_Minh",
             "Giám đốc Tài chính"),
]

# The job titles of the firm's people in the escalation matrices, in Chinese and
# Vietnamese beside the English: clients read them in their language.
JOB_TITLES = {
    "Client Service Manager": ("客户服务经理", "Quản lý Dịch vụ Khách hàng"),
    "Account Team Lead": ("客户团队主管", "Trưởng nhóm Khách hàng"),
    "Managing Director, Europe": ("欧洲区董事总经理", "Giám đốc Điều hành khu vực châu Âu"),
    "Managing Director, Greater China": ("大中华区董事总经理", "Giám đốc Điều hành khu vực Đại Trung Hoa"),
    "Country Managing Director, Vietnam": ("越南国家董事总经理", "Giám đốc Điều hành Quốc gia, Việt Nam"),
}


def job_title(english: str) -> dict[str, str]:
    """A job title of ``JOB_TITLES`` in the three languages."""
    return {"en": english, **dict(zip(("zh", "vi"), JOB_TITLES[english], strict=True))}


# The contracts' SLA targets: (first response, resolution) in business minutes.
SLA_MINUTES = {
    Priority.URGENT: (60, 240),
    Priority.HIGH: (240, 540),
    Priority.NORMAL: (540, 1620),
    Priority.LOW: (1080, 2700),
}

# The contracts' caps on service credits: 10 % of the month's charge and 5 % of the ACV
# a contract year (percent; month, year).
CREDIT_CAPS = (Decimal(10), Decimal(5))

TAX_RATES = {"GB": Decimal("0.20"), "US": Decimal("0"), "CN": Decimal("0.06"), "HK": Decimal("0"), "VN": Decimal("0.10")}


# The latest invoice of Acme's UK location bills UK payroll (its scope line 2) at last
# year's price: held for finance's review, unseen by the client.
HELD_PRICE = ("ACM", "GB", 1, "14.80")


class Location(NamedTuple):
    country: str
    entity_name: str


class Scope(NamedTuple):
    """A contracted service billed at one location. ``quantity`` is per year, so the
    contract's ACV is the sum of the lines; 12 a year is a flat monthly fee."""

    location: str
    service: Text
    unit: str
    quantity: int
    unit_price: str


class KpiRow(NamedTuple):
    """``months`` is the status of the last twelve full months, oldest first
    (g green, a amber, r red); ``good`` is a typical month on target."""

    code: str
    name: Text
    unit: str
    target: str
    direction: KpiDirection
    weight: str
    amber_tolerance: str
    service_credit_percent: str | None  # set for the KPIs that are SLAs
    good: str
    months: str


class Comment(NamedTuple):
    author: str  # a person key: am, admin, finance, approver, viewer
    after_hours: float
    body: str
    internal: bool = False


class StatusChange(NamedTuple):
    """The firm moves the request on. Replies move it by themselves: the firm's first
    public one to in progress, and the client's reply to a request waiting on them
    back to in progress."""

    by: str
    after_hours: float
    status: RequestStatus


class Escalated(NamedTuple):
    """The client escalates the request one level, by hand, with a reason."""

    by: str
    after_hours: float
    reason: str


class RequestRow(NamedTuple):
    """``thread`` is what happens to the request, in order; ``status`` is where that
    leaves it."""

    category: RequestCategory
    priority: Priority
    status: RequestStatus
    by: str
    hours_ago: float
    subject: str  # "{invoice}" is replaced by the disputed invoice's number
    description: str
    thread: tuple[Comment | StatusChange | Escalated, ...]
    disputes_invoice: bool = False
    feedback: tuple[int, str] | None = None  # rating, comment (resolved requests)


class ActionRow(NamedTuple):
    """An item the account manager raises ``created_days_ago`` and moves to ``status``
    (closing it ``closed_days_ago``). A ``feedback`` item on a request is instead the
    one that request's low rating raised, dated by the rating: the account manager
    gives it the row's title and description. The title is in English, Chinese and
    Vietnamese, whatever the account's languages: each reader sees it in their own."""

    title: tuple[str, str, str]
    description: str
    source: ActionSource
    owner: str  # a person key
    created_days_ago: int
    due_after_days: int
    status: ActionStatus = ActionStatus.OPEN
    closed_days_ago: int | None = None
    kpi: str | None = None  # KPI code
    request: int | None = None  # index into the account's requests


class CRRow(NamedTuple):
    """Lines: ("add", description, unit, quantity, unit_price), ("remove", scope index)
    or ("modify", scope index, new annual quantity or None, new unit price or None)."""

    title: Text
    description: Text
    lines: tuple[tuple, ...]
    outcome: CRStatus  # draft, submitted (lands where the threshold says) or approved
    effective_in_months: int = 2
    in_scope: bool = False


class PlanRow(NamedTuple):
    objectives: tuple[Text, ...]
    kpis: tuple[tuple[Text, str, str, str], ...]  # name, baseline, target, unit
    initiatives: tuple[tuple[Text, str, str, str], ...]  # title, owner, due (MM-DD in the FY), status
    budget: tuple[tuple[Text, str], ...]
    risks: tuple[tuple[Text, Text, str], ...]  # risk, mitigation, owner
    review: tuple[str, str] | None = None  # section, comment by the regional reviewer


class WorkOrderRow(NamedTuple):
    """A work order issued by the account manager; with regional review, a draft the
    reviewer comments on (``comment``) and approves (``approved``), or one still waiting."""

    title: Text
    description: Text
    po_number: str
    lines: tuple[tuple[Text, str, str, str], ...]  # description, unit, quantity, unit price
    starts_in_days: int
    days: int
    comment: str = ""
    approved: bool = False
    # The title in the portal's other languages, for its readers there: (language, title).
    other_titles: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DemoAccount:
    key: str
    name: Text  # the legal name in each of ``languages``
    code: str  # prefix of invoice numbers
    country: str
    timezone: str
    tier: Tier
    address: Text
    languages: tuple[str, ...]
    currency: str
    threshold: str
    contract_number: str  # "{year}" is the start year
    contract_title: Text
    governing_law: Text
    tax_id: str
    representative: tuple[Text, Text]  # name, title
    started_months_ago: int
    term_months: int
    locations: tuple[Location, ...]
    scope: tuple[Scope, ...]
    kpis: tuple[KpiRow, ...]
    senior_manager: tuple[str, str, str, str]  # name, title, e-mail, phone
    po_number: str  # "{year}" and "{loc}" are filled per invoice
    pays_after_days: int
    requests: tuple[RequestRow, ...]
    actions: tuple[ActionRow, ...]
    change_requests: tuple[CRRow, ...]
    plan: PlanRow
    # The document languages its regional reviewer approves before issue, and the
    # language that prevails in its bilingual documents.
    review_languages: tuple[str, ...] = ()
    prevailing_language: str | None = None
    work_orders: tuple[WorkOrderRow, ...] = ()


HIGHER, LOWER = KpiDirection.HIGHER, KpiDirection.LOWER
R, P = RequestCategory, Priority
S = RequestStatus

ACME = DemoAccount(
    key="acme",
    name="Acme Global Ltd",
    code="ACM",
    country="GB",
    timezone="Europe/London",
    tier=Tier.STRATEGIC,
    address="30 Finsbury Square, London EC2A 1AG, United Kingdom",
    languages=("en",),
    currency="USD",
    threshold="50000",
    contract_number="MSA-{year}-018",
    contract_title="Master Services Agreement for Finance, Payroll and IT Services",
    governing_law="The laws of England and Wales",
    tax_id="GB 284 7715 36",
    representative=("Emma Richardson", "Finance Director"),
    started_months_ago=28,
    term_months=36,
    locations=(Location("GB", "Acme Global Ltd"), Location("US", "Acme Global Inc.")),
    scope=(
        Scope("GB", "Outsourced accounting and bookkeeping, UK entity", "entity-month", 12, "9500.00"),
        Scope("GB", "Payroll processing, UK", "payslip", 4200, "14.50"),
        Scope("GB", "Managed IT service desk", "user-month", 5400, "38.00"),
        Scope("US", "Payroll processing, US", "payslip", 2880, "16.00"),
        Scope("US", "Statutory accounting and tax compliance, US entity", "entity-month", 12, "7800.00"),
    ),
    kpis=(
        KpiRow("PAY-ACC", "Payroll accuracy", "%", "99.50", HIGHER, "0.25", "0.005", "5", "99.85", "ggggggrggggg"),
        KpiRow("PAY-OT", "Payroll delivered on time", "%", "100", HIGHER, "0.20", "0.02", "5", "100", "gggggggggggg"),
        KpiRow("CLOSE", "Month-end close", "days", "5", LOWER, "0.20", "0.20", None, "4", "ggagggggggga"),
        KpiRow("SD-RES", "Incidents resolved within SLA", "%", "95", HIGHER, "0.20", "0.05", "3", "97", "gggggaggggga"),
        KpiRow("SD-FCR", "Service desk first-contact resolution", "%", "75", HIGHER, "0.15", "0.05", None, "79",
               "gaggggggaggg"),
    ),
    senior_manager=("Jonathan Reeve", "Managing Director, Europe", "jonathan.reeve@firm.example", "+44 20 7946 0321"),
    po_number="ACME-{loc}-PO-{year}-0117",
    pays_after_days=27,
    requests=(
        RequestRow(
            R.SERVICE, P.URGENT, S.IN_PROGRESS, "approver", 30,
            "Payroll: approved overtime missing for 14 warehouse staff",
            "This month's payroll run for the Manchester warehouse did not include the approved overtime for "
            "14 employees. Please correct the payslips and confirm the supplementary payment before the BACS cut-off.",
            (
                Comment("am", 1, "Thank you, Emma. The overtime file from your time-and-attendance system arrived "
                                 "after the payroll cut-off. The payroll team is recalculating the 14 payslips now."),
                Comment("am", 2, "Root cause: the T&A export landed at 18:40, after the 17:00 cut-off, and the run "
                                 "did not pick it up. We need a late-file check in the cut-off checklist.", True),
                Escalated("approver", 25, "A day later the 14 payslips are still not corrected, and the "
                                          "supplementary payment must reach the staff this week."),
                Comment("admin", 26, "I have taken this over as the resolution time was exceeded. Corrected payslips "
                                     "go out today and a supplementary BACS payment is booked for tomorrow; a written "
                                     "incident summary will follow."),
                Comment("approver", 27, "Thank you. Please include the affected employee numbers in the summary."),
            ),
        ),
        RequestRow(
            R.BILLING, P.HIGH, S.IN_PROGRESS, "viewer", 50,
            "Invoice {invoice}: payslip count does not match our headcount",
            "Invoice {invoice} bills more US payslips than our payroll register shows for the period "
            "(231 employees paid). Please review it and issue a credit note if the count is confirmed.",
            (
                Comment("finance", 3, "We are reconciling the payslip count with the US payroll register for the "
                                      "period and will come back to you within two business days."),
                Comment("finance", 5, "The extra payslips are off-cycle payments for leavers: billable under the "
                                      "contract, but the invoice should list them as a separate line.", True),
                Comment("viewer", 20, "Thanks. If they are off-cycle payments, please show them separately on the "
                                      "reissued invoice."),
            ),
            disputes_invoice=True,
        ),
        RequestRow(
            R.SCOPE, P.NORMAL, S.WAITING_CLIENT, "approver", 170,
            "Quote for IT services at the new Manchester site",
            "We open a new site in Manchester next quarter with about 120 staff. Please quote for extending "
            "managed IT services to it, including on-site network support.",
            (
                Comment("am", 6, "We have drafted a change request for managed network services at the Manchester "
                                 "site; it is in our internal approval. Could you confirm the go-live date and the "
                                 "number of network devices?"),
                StatusChange("am", 6.1, S.WAITING_CLIENT),
                Comment("approver", 30, "Go-live is planned for the first week of next quarter; I will confirm the "
                                        "device count once the floor plan is final."),
                StatusChange("am", 31, S.WAITING_CLIENT),
            ),
        ),
        RequestRow(
            R.SERVICE, P.NORMAL, S.RESOLVED, "viewer", 300,
            "Access for our new payroll administrator",
            "Please set up portal and payroll system access for Sarah Collins, who joins as payroll administrator.",
            (
                Comment("am", 4, "Access has been created; Sarah has received her welcome e-mail."),
                Comment("viewer", 6, "Confirmed, she can sign in. Thank you."),
                StatusChange("am", 6.1, S.RESOLVED),
            ),
            feedback=(5, "Quick and painless, thank you."),
        ),
    ),
    actions=(
        ActionRow(("Add a late-file check to the payroll cut-off checklist", "在薪资截止检查清单中增加迟交文件检查",
                   "Bổ sung bước kiểm tra tệp nộp muộn vào danh mục kiểm tra chốt lương"),
                  "Follow-up of the missing-overtime escalation: a late time-and-attendance file must stop the run.",
                  ActionSource.ESCALATION, "am", 1, 14, request=0),
        ActionRow(("Confirm go-live date and device count for the Manchester site", "确认曼彻斯特站点的上线日期和设备数量",
                   "Xác nhận ngày vận hành và số lượng thiết bị cho địa điểm Manchester"),
                  "Needed to finalise the managed network services change request.",
                  ActionSource.MEETING, "approver", 6, 14),
        ActionRow(("Review the incident backlog behind last month's resolution rate", "复查导致上月解决率下降的积压事件",
                   "Rà soát các sự cố tồn đọng ảnh hưởng đến tỷ lệ giải quyết tháng trước"),
                  "Incidents resolved within SLA was amber last month; analyse the backlog and agree a recovery plan.",
                  ActionSource.KPI, "am", 20, 21, ActionStatus.IN_PROGRESS, kpi="SD-RES"),
        ActionRow(("Send the updated UK holiday calendar for next year's payroll", "提供用于明年薪资核算的最新英国假日日历",
                   "Gửi lịch nghỉ lễ cập nhật của Vương quốc Anh cho kỳ lương năm sau"),
                  "Agreed at the quarterly service review; needed to set next year's pay dates.",
                  ActionSource.REVIEW, "viewer", 40, 30),
        ActionRow(("Share the quarterly service review pack", "分享季度服务回顾资料",
                   "Chia sẻ bộ tài liệu đánh giá dịch vụ hằng quý"),
                  "Scorecard, invoices and change request tracker for the quarter.",
                  ActionSource.MEETING, "am", 35, 7, ActionStatus.DONE, closed_days_ago=29),
    ),
    change_requests=(
        CRRow("Increase UK payroll volume to 400 payslips a month",
              "Acme's UK headcount has grown with the Leeds distribution centre. The contracted payroll volume "
              "rises from 350 to 400 payslips a month at the existing unit price.",
              (("modify", 1, 4800, None),), CRStatus.APPROVED, effective_in_months=1, in_scope=True),
        CRRow("Extend service desk hours to Saturdays",
              "Saturday cover from 08:00 to 14:00 UK time for the warehouse and retail teams. The price per user "
              "and month rises from USD 38.00 to USD 41.00.",
              (("modify", 2, None, "41.00"),), CRStatus.PENDING_CLIENT_APPROVAL),
        CRRow("Managed network services for the Manchester site",
              "LAN, Wi-Fi and firewall management for the new Manchester site, with on-site installation and cut-over.",
              (("add", "Managed network services, Manchester site (LAN, Wi-Fi, firewall)", "site-month", 12, "5200.00"),
               ("add", "On-site network installation and cut-over, Manchester", "project", 1, "18500.00")),
              CRStatus.PENDING_INTERNAL_APPROVAL, effective_in_months=3),
        CRRow("Monthly management reporting pack",
              "A monthly pack for the UK and US entities: P&L, balance sheet, cash flow and KPI commentary.",
              (("add", "Monthly management reporting pack (UK and US)", "report", 12, "1650.00"),),
              CRStatus.DRAFT),
    ),
    plan=PlanRow(
        objectives=(
            "Keep payroll accuracy at or above 99.5 % in every month, in the UK and the US.",
            "Close the books by working day 4 for both entities by the end of the second quarter.",
            "Bring the new Manchester site onto managed IT services without disruption.",
        ),
        kpis=(
            ("Payroll accuracy", "99.62", "99.80", "%"),
            ("Month-end close", "4.6", "4.0", "days"),
            ("Incidents resolved within SLA", "95.8", "97.0", "%"),
        ),
        initiatives=(
            ("Agree the KPI baseline for the year with Acme Finance", "approver", "01-31", "done"),
            ("Automate the time-and-attendance feed into UK payroll", "am", "03-31", "in_progress"),
            ("Manchester site network roll-out", "admin", "06-30", "planned"),
            ("Quarterly continuous-improvement review with Acme Finance", "am", "12-31", "planned"),
        ),
        budget=(
            ("Payroll automation (time-and-attendance integration)", "24000"),
            ("Manchester on-site network installation", "18500"),
            ("Service improvement workshops", "6000"),
        ),
        risks=(
            ("Late time-and-attendance files delay payroll",
             "Automated feed with a cut-off alert 24 hours before each run", "am"),
            ("The Manchester opening date slips",
             "Phase the network roll-out and keep the installation team on a flexible booking", "approver"),
        ),
    ),
)

HUANAN = DemoAccount(
    key="huanan",
    name=("Huanan Precision Manufacturing Co., Ltd.", "华南精密制造有限公司"),
    code="HNP",
    country="CN",
    timezone="Asia/Shanghai",
    tier=Tier.KEY,
    address=("Building 8, Science and Technology Park South, Nanshan District, Shenzhen", "深圳市南山区科技园南区 8 栋"),
    languages=("en", "zh"),
    currency="CNY",
    threshold="50000",
    contract_number="MSA-{year}-027",
    contract_title=("Master Services Agreement for Outsourced Accounting, Payroll and IT Services",
                    "会计、薪资及IT外包服务主服务协议"),
    governing_law=("The laws of the People's Republic of China", "中华人民共和国法律"),
    tax_id="91440300MA5FQ8LX2K",
    representative=(("Wang Xiaomei", "王晓梅"), ("Chief Financial Officer", "财务总监")),
    started_months_ago=20,
    term_months=36,
    locations=(Location("CN", "华南精密制造有限公司"), Location("HK", "华南精密（香港）有限公司")),
    scope=(
        Scope("CN", ("Monthly bookkeeping and financial statements", "月度记账及财务报表编制"), "entity-month", 12,
              "38000.00"),
        Scope("CN", ("Payroll processing and individual income tax filing", "薪资核算及个人所得税申报"), "payslip",
              14400, "45.00"),
        Scope("CN", ("Managed IT service desk", "IT服务台托管服务"), "user-month", 4200, "180.00"),
        Scope("HK", ("Statutory accounting and audit support, Hong Kong", "香港法定会计及审计支持"), "entity-month", 12,
              "15000.00"),
        Scope("HK", ("Payroll and MPF administration, Hong Kong", "香港薪资及强积金管理"), "payslip", 480, "120.00"),
    ),
    kpis=(
        KpiRow("PAY-ACC", ("Payroll accuracy", "薪资核算准确率"), "%", "99.50", HIGHER, "0.25", "0.005", "5", "99.90",
               "ggaggggggggg"),
        KpiRow("IIT-OT", ("Individual income tax filed on time", "个人所得税按时申报率"), "%", "100", HIGHER, "0.20", "0.02",
               "5", "100", "gggggggggggr"),
        KpiRow("CLOSE", ("Month-end close", "月结完成时间"), "days", "5", LOWER, "0.20", "0.20", None, "4.2",
               "gggaggggggga"),
        KpiRow("AP-ACC", ("Accounts payable processing accuracy", "应付账款处理准确率"), "%", "99.00", HIGHER, "0.15",
               "0.01", None, "99.60", "gggggggggggg"),
        KpiRow("SD-RES", ("Incidents resolved within SLA", "事件按SLA时限解决率"), "%", "95", HIGHER, "0.20", "0.05", "3",
               "96.5", "ggggggrggagg"),
    ),
    senior_manager=("Catherine Wong", "Managing Director, Greater China", "catherine.wong@firm.example",
                    "+86 755 8610 2233"),
    po_number="HNJM-{year}-{loc}-031",
    pays_after_days=34,
    requests=(
        RequestRow(
            R.BILLING, P.NORMAL, S.IN_PROGRESS, "approver", 75,
            "关于发票 {invoice} 的疑问",
            "发票 {invoice} 所列香港公司工资单数量与我们当月实际发薪人数（36人）不符，请核实后重新开具发票或开具贷项通知单。",
            (
                Comment("finance", 4, "Thank you for raising this. We are reconciling the payslip count with the Hong "
                                      "Kong payroll register and will reply within two business days.\n"
                                      "感谢您的反馈。我们正在核对香港薪资记录中的工资单数量，将在两个工作日内回复。"),
                Comment("approver", 22, "补充说明：当月有3名员工在月中离职，其工资已在最后一期工资中结算，不应单独计费。"),
                Comment("finance", 26, "Three leavers were billed as separate off-cycle payslips. If the client "
                                       "confirms they were settled in the regular run, credit 3 payslips.", True),
            ),
            disputes_invoice=True,
        ),
        RequestRow(
            R.SERVICE, P.HIGH, S.OPEN, "approver", 3,
            "上月个人所得税申报回执尚未收到",
            "我们至今仍未收到上月个人所得税申报回执及完税凭证。请尽快提供，并说明部分新员工未按时申报的原因。",
            (
                Comment("approver", 1, "另外请确认本月申报是否会受到影响。"),
                Comment("am", 2, "IIT-OT was red last month: 23 new joiners were filed late because their ID documents "
                                 "arrived after the filing deadline. Send the receipts with a short explanation.", True),
            ),
        ),
        RequestRow(
            R.SCOPE, P.NORMAL, S.WAITING_CLIENT, "approver", 150,
            "越南子公司薪资服务报价",
            "我司在越南北宁新设立的子公司预计明年初有约80名员工，请提供越南薪资核算及社保申报服务的报价。",
            (
                Comment("am", 5, "Thank you for the enquiry. We have submitted the change request \"Add payroll for "
                                 "Vietnam entity\" in the portal for your approval.\n"
                                 "感谢您的询价。我们已在门户中提交变更请求“新增越南实体薪资服务”，请审批。"),
                StatusChange("am", 5.1, S.WAITING_CLIENT),
                Comment("approver", 8, "收到，我们将在本周内完成内部审批。"),
                StatusChange("am", 9, S.WAITING_CLIENT),
            ),
        ),
        RequestRow(
            R.SERVICE, P.NORMAL, S.RESOLVED, "approver", 600,
            "年度审计资料准备",
            "请协助准备年度审计所需的总账、明细账及银行对账单，审计师将于下月初进场。",
            (
                Comment("am", 20, "The audit pack has been uploaded to the shared folder.\n审计资料已上传至共享文件夹。"),
                Comment("approver", 30, "已收到，谢谢。"),
                StatusChange("am", 30.1, S.RESOLVED),
            ),
            feedback=(4, "资料齐全，但希望今后能提前两天提供。"),
        ),
        RequestRow(
            R.SERVICE, P.HIGH, S.RESOLVED, "approver", 960,
            "工资条发送延迟",
            "本月工资条比约定时间晚了两天才发送给员工，引起员工投诉，请说明原因。",
            (
                Comment("am", 6, "The payslips were held by a mail-server error and have now been sent. We apologise.\n"
                                 "工资条因邮件服务器故障被延迟发送，现已全部发出。对此深表歉意。"),
                Comment("approver", 9, "已确认员工均已收到。"),
                StatusChange("am", 9.1, S.RESOLVED),
            ),
            feedback=(2, "问题虽已解决，但沟通不及时。希望发薪日前加强确认。"),
        ),
    ),
    actions=(
        ActionRow(("Root cause and recovery plan for late IIT filings", "个人所得税逾期申报的根本原因及整改计划",
                   "Nguyên nhân và kế hoạch khắc phục việc kê khai thuế thu nhập cá nhân trễ hạn"),
                  "Individual income tax filed on time was red last month (23 late filings for new joiners).",
                  ActionSource.KPI, "am", 10, 14, ActionStatus.IN_PROGRESS, kpi="IIT-OT"),
        ActionRow(("Call the client about the payslip delay complaint", "就工资条延迟投诉致电客户",
                   "Gọi điện cho khách hàng về khiếu nại chậm gửi phiếu lương"),
                  "Follow-up of the rating of 2 on the payslip delay request.",
                  ActionSource.FEEDBACK, "am", 38, 7, ActionStatus.DONE, closed_days_ago=35, request=4),
        ActionRow(("Provide the Vietnam entity's employee list and start dates", "提供越南子公司员工名单及入职日期",
                   "Cung cấp danh sách nhân viên và ngày vào làm của công ty con tại Việt Nam"),
                  "用于越南薪资系统设置及首次发薪前的并行测试。",
                  ActionSource.MEETING, "approver", 5, 20),
        ActionRow(("Align the JBP budget with the client's procurement plan", "使联合业务计划预算与客户采购计划保持一致",
                   "Điều chỉnh ngân sách kế hoạch kinh doanh chung theo kế hoạch mua sắm của khách hàng"),
                  "Raised in the JBP review: the bank reconciliation robot needs a phased payment schedule.",
                  ActionSource.REVIEW, "am", 2, 14),
        ActionRow(("Confirm the annual audit timetable", "确认年度审计时间表", "Xác nhận lịch kiểm toán năm"),
                  "季度业务回顾会议上约定，由客户确认审计师进场及报告出具时间。",
                  ActionSource.MEETING, "approver", 45, 30),
    ),
    change_requests=(
        CRRow(("Add payroll for Vietnam entity", "新增越南实体薪资服务"),
              ("Extend payroll processing to Huanan Precision Vietnam Co., Ltd. (Bac Ninh) from its first pay cycle: "
               "monthly payroll for about 80 employees, including personal income tax and social insurance filings, "
               "and a one-off set-up.",
               "自越南子公司（北宁）首个发薪周期起为其提供薪资服务：约80名员工的月度薪资核算（含个人所得税及社会保险申报），"
               "以及一次性系统设置。"),
              (("add", ("Payroll processing, Vietnam entity (incl. PIT and social insurance filings)",
                        "越南实体薪资核算（含个人所得税及社会保险申报）"), "payslip", 960, "38.00"),
               ("add", ("One-off payroll set-up, Vietnam entity", "越南实体薪资系统一次性设置"), "project", 1, "6500.00")),
              CRStatus.PENDING_CLIENT_APPROVAL),
        CRRow(("Transfer Hong Kong payroll in-house", "香港薪资转为内部处理"),
              ("Huanan's Hong Kong team takes payroll in-house; we keep a quarterly review of its payroll and MPF "
               "contributions.",
               "华南香港团队将薪资工作转为内部处理；我方保留对其薪资及强积金供款的季度复核。"),
              (("remove", 4),
               ("add", ("Payroll and MPF review, Hong Kong, quarterly", "香港薪资及强积金季度复核"), "quarter", 4,
                "3200.00")),
              CRStatus.DRAFT),
    ),
    plan=PlanRow(
        objectives=(
            ("Run the Vietnam entity's payroll from its first pay cycle with zero errors.",
             "越南实体自首个发薪周期起实现薪资零差错。"),
            ("Bring on-time individual income tax filing back to 100 % and keep it there.",
             "个人所得税按时申报率恢复并保持在100%。"),
            ("Shorten the month-end close from 5 to 4 working days.", "月结时间由5个工作日缩短至4个工作日。"),
        ),
        kpis=(
            (("Individual income tax filed on time", "个人所得税按时申报率"), "97.5", "100.0", "%"),
            (("Month-end close", "月结完成时间"), "5.0", "4.0", "days"),
            (("Payroll accuracy", "薪资核算准确率"), "99.70", "99.90", "%"),
        ),
        initiatives=(
            (("FY KPI baseline agreed with Huanan Finance", "与华南财务部确定本财年KPI基线"), "approver", "01-31", "done"),
            (("Vietnam payroll set-up and parallel run", "越南薪资系统设置及并行测试"), "am", "03-31", "in_progress"),
            (("New-joiner document checklist for IIT registration", "新员工个税登记资料清单"), "approver", "03-31",
             "in_progress"),
            (("Close calendar with daily checkpoints", "月结日历及每日检查点"), "am", "06-30", "planned"),
        ),
        budget=(
            (("Vietnam payroll set-up", "越南薪资系统设置"), "6500"),
            (("Close-process automation (bank reconciliation robot)", "月结流程自动化（银行对账机器人）"), "85000"),
            (("Joint process workshops in Shenzhen", "深圳联合流程研讨会"), "12000"),
        ),
        risks=(
            (("New joiners' ID documents arrive after the filing deadline", "新员工身份证明材料晚于申报截止日提供"),
             ("Checklist at onboarding and a weekly reminder to HR in the last week of each month",
              "入职时使用资料清单，并在每月最后一周每周提醒人力资源部"), "approver"),
            (("Vietnamese payroll rules change during the year (minimum wage, social insurance caps)",
              "越南薪资法规年内调整（最低工资、社会保险缴费基数上限）"),
             ("The local payroll team tracks regulatory changes and applies them in the next pay cycle",
              "由当地薪资团队跟踪法规变化，并在下一发薪周期内落实"), "am"),
        ),
        review=("risks", "整体计划清晰。建议在“风险”部分补充越南子公司首次发薪前并行测试的验收标准，"
                         "并在预算中注明银行对账机器人项目的分期付款安排。"),
    ),
    review_languages=("zh",),
    prevailing_language="zh",
    work_orders=(
        WorkOrderRow(("Year-end payroll and individual income tax reconciliation", "年终薪资及个人所得税汇算清缴"),
                     ("Reconciliation of the year's payroll and individual income tax filings for the Shenzhen "
                      "entity, with a report of differences and corrections.",
                      "对深圳实体全年薪资及个人所得税申报进行核对，并出具差异及更正报告。"),
                     "PO-HNP-7731", ((("Reconciliation day", "核对工作日"), "day", "12", "4800.00"),),
                     starts_in_days=14, days=40, comment="中文译文已核对，术语与主服务协议一致。",
                     approved=True,
                     other_titles=(("vi", "Đối chiếu tiền lương và quyết toán thuế thu nhập cá nhân cuối năm"),)),
        WorkOrderRow(("IT asset inventory of the Dongguan plant", "东莞工厂IT资产盘点"),
                     ("Inventory and labelling of the plant's IT assets, reconciled with the fixed asset register.",
                      "盘点并标记工厂IT资产，并与固定资产台账核对一致。"),
                     "PO-HNP-7745", ((("Inventory day", "盘点工作日"), "day", "6", "3900.00"),),
                     starts_in_days=30, days=21,
                     other_titles=(("vi", "Kiểm kê tài sản CNTT của nhà máy Đông Quản"),)),
    ),
)

SAO_VIET = DemoAccount(
    key="saoviet",
    name=("Sao Viet Company Limited", "Công ty TNHH Sao Việt"),
    code="SVT",
    country="VN",
    timezone="Asia/Ho_Chi_Minh",
    tier=Tier.KEY,
    address=("12th floor, Song Da Building, 165 Cau Giay Street, Hanoi",
             "Tầng 12, Tòa nhà Sông Đà, 165 phố Cầu Giấy, Hà Nội"),
    languages=("en", "vi"),
    currency="VND",
    threshold="1000000000",
    contract_number="MSA-{year}-031",
    contract_title=("Master Services Agreement for Accounting, Payroll and IT Support Services",
                    "Hợp đồng khung dịch vụ kế toán, tiền lương và hỗ trợ công nghệ thông tin"),
    governing_law=("The laws of Vietnam", "Pháp luật Việt Nam"),
    tax_id="0108765432",
    representative=(("Le Thi Thanh Huong", "Lê Thị Thanh Hương"), ("Chief Financial Officer", "Giám đốc Tài chính")),
    started_months_ago=14,
    term_months=24,
    locations=(Location("VN", "Công ty TNHH Sao Việt"),),
    scope=(
        Scope("VN", ("Outsourced accounting and bookkeeping", "Dịch vụ kế toán và ghi sổ trọn gói"), "entity-month", 12,
              "85000000"),
        Scope("VN", ("Payroll processing and personal income tax filing", "Tính lương và kê khai thuế thu nhập cá nhân"),
              "payslip", 7200, "120000"),
        Scope("VN", ("Social, health and unemployment insurance administration",
                     "Quản lý bảo hiểm xã hội, bảo hiểm y tế và bảo hiểm thất nghiệp"), "employee-month", 7200, "45000"),
        Scope("VN", ("Managed IT service desk", "Dịch vụ hỗ trợ người dùng CNTT"), "user-month", 2400, "350000"),
    ),
    kpis=(
        KpiRow("PAY-ACC", ("Payroll accuracy", "Độ chính xác của bảng lương"), "%", "99.50", HIGHER, "0.25", "0.005",
               "5", "99.80", "ggggggrggggg"),
        KpiRow("SI-OT", ("Social insurance filings on time", "Tỷ lệ nộp hồ sơ bảo hiểm xã hội đúng hạn"), "%", "100",
               HIGHER, "0.20", "0.02", None, "100", "ggggagggggga"),
        KpiRow("TAX-OT", ("Tax returns filed on time", "Tỷ lệ nộp tờ khai thuế đúng hạn"), "%", "100", HIGHER, "0.20",
               "0.02", "5", "100", "gggggggggggg"),
        KpiRow("CLOSE", ("Month-end close", "Thời gian khóa sổ cuối tháng"), "days", "6", LOWER, "0.15", "0.20", None,
               "5", "gaggggggggag"),
        KpiRow("SD-RESP", ("Service desk first response time", "Thời gian phản hồi đầu tiên của bộ phận hỗ trợ CNTT"),
               "hours", "2", LOWER, "0.20", "0.25", None, "1.5", "ggggggggggar"),
    ),
    senior_manager=("Phạm Quang Huy", "Country Managing Director, Vietnam", "huy.pham@firm.example", "+84 28 3822 0456"),
    po_number="SV-PO-{year}-{loc}-008",
    pays_after_days=41,
    requests=(
        RequestRow(
            R.BILLING, P.HIGH, S.IN_PROGRESS, "approver", 96,
            "Khiếu nại hóa đơn {invoice}",
            "Hóa đơn {invoice} tính phí hỗ trợ CNTT theo số người dùng cao hơn thực tế: trong kỳ này chúng tôi chỉ có "
            "184 tài khoản đang hoạt động. Đề nghị kiểm tra và điều chỉnh hóa đơn.",
            (
                Comment("finance", 3, "We are checking the active user list against the service desk records and will "
                                      "reply within two business days.\n"
                                      "Chúng tôi đang đối chiếu danh sách người dùng đang hoạt động với dữ liệu của bộ "
                                      "phận hỗ trợ và sẽ phản hồi trong vòng hai ngày làm việc."),
                Comment("finance", 5, "16 accounts belong to leavers that the client's HR has not asked us to disable. "
                                      "Billable under the contract, but propose a one-off goodwill credit.", True),
                Comment("approver", 28, "Chúng tôi sẽ gửi danh sách nhân viên đã nghỉ việc trong kỳ để anh chị đối chiếu."),
            ),
            disputes_invoice=True,
        ),
        RequestRow(
            R.SERVICE, P.NORMAL, S.OPEN, "approver", 20,
            "Đăng ký bảo hiểm xã hội cho 25 nhân viên mới",
            "Công ty vừa tuyển 25 nhân viên cho cửa hàng mới tại Thủ Đức. Đề nghị đăng ký tham gia bảo hiểm xã hội, "
            "bảo hiểm y tế cho các nhân viên này và đưa họ vào kỳ lương tới.",
            (
                Comment("approver", 1, "Danh sách nhân viên và bản sao căn cước công dân đã được gửi qua email cho bộ "
                                       "phận tiền lương."),
                Comment("am", 3, "Payroll team to file the 25 social insurance registrations and make sure the "
                                 "joiners are on next month's run.", True),
            ),
        ),
        RequestRow(
            R.OTHER, P.LOW, S.WAITING_CLIENT, "approver", 190,
            "Thay đổi địa chỉ email nhận hóa đơn",
            "Kể từ tháng này, vui lòng gửi hóa đơn điện tử đến địa chỉ ketoan@saoviet.example thay cho địa chỉ cũ.",
            (
                Comment("finance", 7, "Noted. Should the new address also receive payment reminders?\n"
                                      "Chúng tôi đã ghi nhận. Xin vui lòng cho biết địa chỉ mới có cần nhận cả thông "
                                      "báo nhắc thanh toán hay không?"),
                StatusChange("finance", 7.1, S.WAITING_CLIENT),
            ),
        ),
        RequestRow(
            R.SERVICE, P.NORMAL, S.RESOLVED, "approver", 720,
            "Điều chỉnh bảng lương tháng trước cho 3 nhân viên",
            "Bảng lương tháng trước tính thiếu phụ cấp ăn trưa cho 3 nhân viên bộ phận kho. Đề nghị điều chỉnh và "
            "chi trả bổ sung.",
            (
                Comment("am", 5, "The three allowances were paid in a supplementary run the same day.\n"
                                 "Phụ cấp của ba nhân viên đã được chi trả bổ sung ngay trong ngày."),
                Comment("approver", 8, "Chúng tôi đã xác nhận với bộ phận kho. Cảm ơn anh chị."),
                StatusChange("am", 8.1, S.RESOLVED),
            ),
            feedback=(5, "Xử lý nhanh và chính xác. Cảm ơn các anh chị."),
        ),
    ),
    actions=(
        ActionRow(("Bring service desk first response time back under 2 hours", "将IT服务台首次响应时间恢复至2小时以内",
                   "Đưa thời gian phản hồi đầu tiên của bộ phận hỗ trợ CNTT về dưới 2 giờ"),
                  "First response time was red last month after two agents left; hire two agents and add cover "
                  "from the regional desk meanwhile.",
                  ActionSource.KPI, "am", 12, 30, ActionStatus.IN_PROGRESS, kpi="SD-RESP"),
        ActionRow(("Agree a goodwill credit for inactive IT user accounts", "就未使用的IT用户账户商定善意抵减",
                   "Thống nhất khoản giảm trừ thiện chí cho các tài khoản người dùng CNTT không hoạt động"),
                  "Raised by the invoice dispute: 16 user accounts of leavers were billed.",
                  ActionSource.ESCALATION, "finance", 3, 10, request=0),
        ActionRow(("Provide the list of leavers' IT accounts to be disabled", "提供需停用的离职员工IT账户清单",
                   "Cung cấp danh sách tài khoản CNTT của nhân viên đã nghỉ việc cần khóa"),
                  "Thống nhất tại cuộc họp rà soát dịch vụ hằng tháng.",
                  ActionSource.MEETING, "approver", 35, 21),
        ActionRow(("Send the quarterly tax filing calendar", "发送季度纳税申报日历", "Gửi lịch kê khai thuế hằng quý"),
                  "Deadlines for VAT, PIT and CIT returns for the coming quarter.",
                  ActionSource.MEETING, "am", 50, 14, ActionStatus.DONE, closed_days_ago=40),
    ),
    change_requests=(
        CRRow(("Increase payroll to 700 employees and add e-invoice reconciliation",
               "Tăng số lượng nhân viên tính lương lên 700 người và bổ sung dịch vụ đối soát hóa đơn điện tử"),
              ("Sao Viet opens 15 new stores: payroll and insurance administration rise from 600 to 700 employees a "
               "month, and we add monthly reconciliation of purchase e-invoices.",
               "Sao Việt khai trương 15 cửa hàng mới: số nhân viên tính lương và quản lý bảo hiểm tăng từ 600 lên 700 "
               "người mỗi tháng, đồng thời bổ sung dịch vụ đối soát hóa đơn điện tử đầu vào hằng tháng."),
              (("modify", 1, 8400, None),
               ("modify", 2, 8400, None),
               ("add", ("Purchase e-invoice reconciliation", "Đối soát hóa đơn điện tử đầu vào"), "month", 12,
                "18000000")),
              CRStatus.PENDING_CLIENT_APPROVAL),
        CRRow(("Reduce service desk users to 180", "Giảm số người dùng dịch vụ hỗ trợ CNTT xuống 180"),
              ("The head office moves 20 users to the group's own IT team.",
               "Văn phòng chính chuyển 20 người dùng sang bộ phận CNTT của tập đoàn."),
              (("modify", 3, 2160, None),), CRStatus.DRAFT),
    ),
    plan=PlanRow(
        objectives=(
            ("File every social insurance and tax return on time, every month.",
             "Nộp đúng hạn toàn bộ hồ sơ bảo hiểm xã hội và tờ khai thuế hằng tháng."),
            ("Bring the service desk's first response time back under 2 hours.",
             "Đưa thời gian phản hồi đầu tiên của bộ phận hỗ trợ CNTT về dưới 2 giờ."),
            ("Support the opening of 15 new stores with payroll and IT ready on day one.",
             "Hỗ trợ khai trương 15 cửa hàng mới với dịch vụ tiền lương và CNTT sẵn sàng ngay từ ngày đầu."),
        ),
        kpis=(
            (("Service desk first response time", "Thời gian phản hồi đầu tiên của bộ phận hỗ trợ CNTT"), "2.6", "1.5",
             "hours"),
            (("Payroll accuracy", "Độ chính xác của bảng lương"), "99.60", "99.80", "%"),
            (("Tax returns filed on time", "Tỷ lệ nộp tờ khai thuế đúng hạn"), "100.0", "100.0", "%"),
        ),
        initiatives=(
            (("Agree the FY KPI baseline", "Thống nhất mức cơ sở KPI của năm tài chính"), "approver", "01-31", "done"),
            (("Hire and train two additional service desk agents", "Tuyển dụng và đào tạo thêm hai nhân viên hỗ trợ CNTT"),
             "am", "03-31", "in_progress"),
            (("E-invoice reconciliation go-live", "Triển khai dịch vụ đối soát hóa đơn điện tử"), "finance", "03-31",
             "planned"),
            (("Store-opening playbook: payroll, social insurance and IT accounts",
              "Quy trình chuẩn khai trương cửa hàng: tiền lương, bảo hiểm xã hội và tài khoản CNTT"), "approver",
             "06-30", "planned"),
        ),
        budget=(
            (("Two additional service desk agents (12 months)", "Hai nhân viên hỗ trợ CNTT bổ sung (12 tháng)"),
             "360000000"),
            (("Store-opening support (15 stores)", "Hỗ trợ khai trương cửa hàng (15 cửa hàng)"), "225000000"),
            (("E-invoice reconciliation set-up", "Thiết lập dịch vụ đối soát hóa đơn điện tử"), "40000000"),
        ),
        risks=(
            (("High staff turnover in stores delays social insurance registration",
              "Tỷ lệ nghỉ việc cao tại cửa hàng làm chậm việc đăng ký bảo hiểm xã hội"),
             ("A weekly joiner and leaver file from Sao Viet HR with a fixed cut-off day",
              "Phòng Nhân sự Sao Việt gửi danh sách nhân viên vào làm, nghỉ việc hằng tuần theo ngày chốt cố định"),
             "approver"),
            (("Service desk recruitment takes longer than planned",
              "Việc tuyển dụng nhân viên hỗ trợ CNTT kéo dài hơn dự kiến"),
             ("Temporary cover from the regional service desk in Singapore",
              "Bố trí hỗ trợ tạm thời từ bộ phận hỗ trợ khu vực tại Singapore"), "am"),
        ),
        review=("initiatives", "Kế hoạch rõ ràng và bám sát các KPI hiện tại. Đề nghị bổ sung mốc thời gian cụ thể cho "
                               "việc tuyển dụng hai nhân viên hỗ trợ CNTT và làm rõ ngân sách khai trương được tính cho "
                               "mỗi cửa hàng hay cho cả 15 cửa hàng."),
    ),
)

ACCOUNTS = (ACME, HUANAN, SAO_VIET)

# --- small helpers --------------------------------------------------------------------


def month_start(today: date, months_ago: int) -> date:
    index = today.year * 12 + today.month - 1 - months_ago
    return date(index // 12, index % 12 + 1, 1)


def month_end(first: date) -> date:
    return month_start(first, -1) - timedelta(days=1)


def first_weekday(first: date) -> date:
    return first + timedelta(days={5: 2, 6: 1}.get(first.weekday(), 0))


def localized(value: Text, languages: tuple[str, ...]) -> dict[str, str]:
    texts = (value,) if isinstance(value, str) else value
    return dict(zip(languages, texts, strict=True))


# The pipeline's opportunities on each account (``_AccountBuilder._opportunities``):
# prices in US dollars, scaled to the account's currency.
PIPELINE_SCALE = {"USD": Decimal(1), "CNY": Decimal(7), "VND": Decimal(25000)}
PIPELINE_TEXTS = {
    "idea": {"en": "Automated expense audit", "zh": "自动化费用审核", "vi": "Kiểm tra chi phí tự động"},
    "scope": {"en": "Services for the new site", "zh": "新设机构服务", "vi": "Dịch vụ cho đơn vị mới"},
    "lost": {"en": "Travel desk outsourcing", "zh": "差旅服务外包", "vi": "Thuê ngoài bộ phận đặt vé công tác"},
    "won": {"en": "Year-end tax filing support", "zh": "年终税务申报支持", "vi": "Hỗ trợ quyết toán thuế cuối năm"},
}
PIPELINE_LINES = {
    "scope": [({"en": "Service set-up at the new site", "zh": "新设机构服务启动", "vi": "Thiết lập dịch vụ tại đơn vị mới"},
               "month", "1", "6500"),
              ({"en": "Monthly service, new site", "zh": "新设机构月度服务", "vi": "Dịch vụ hằng tháng, đơn vị mới"},
               "month", "12", "2400")],
    "won": [({"en": "Year-end tax return preparation", "zh": "年终纳税申报准备", "vi": "Chuẩn bị hồ sơ quyết toán thuế"},
             "employee", "150", "18"),
            ({"en": "Tax filing review meeting", "zh": "税务申报审阅会议", "vi": "Họp xem xét hồ sơ thuế"}, "hour", "6", "150")],
}


# --- builders -------------------------------------------------------------------------


def database_is_empty(session: Session) -> bool:
    """The demo only loads into a fresh database: no accounts and no users."""
    return session.scalar(sa.select(Account.id).limit(1)) is None and session.scalar(sa.select(User.id).limit(1)) is None


def load(session: Session, password: str) -> str:
    """Create the demo (inside ``unscoped()``); flush only. Returns a one-line summary.

    The administrator is made first; then, as a firm onboards a client, the accounts,
    their users and teams go through the same services as the pages, the API and the
    file import (``portal.onboarding``, ``portal.people``)."""
    today, now = date.today(), utcnow()
    admin = _create_user(session, password, USERS[0], None)
    accounts = {spec.key: _create_account(session, admin, spec) for spec in ACCOUNTS}
    users = {admin.email: admin}
    for row in USERS[1:]:
        users[row.email] = _create_user(session, password, row, accounts[row.accounts[0]] if row.role.is_client else None)
    for spec in ACCOUNTS:
        account = accounts[spec.key]
        set_team(session, account, admin, [TeamMember(users[row.email].id, row.role) for row in USERS
                                           if spec.key in row.accounts and row.role in TEAM_ROLES])
        _AccountBuilder(session, spec, account, users, today, now).build()
    session.flush()
    # Last month's adverse variances, as the daily job raises them: the portfolio shows them.
    from portal.kpis.service import previous_month
    from portal.portfolio.service import check_alerts

    check_alerts(session, previous_month(today.replace(day=1)), now=now)
    return _summary(session)


def _create_account(session: Session, admin: User, spec: DemoAccount) -> Account:
    name, title = spec.representative
    return create_account(session, admin, AccountDetails(
        name=localized(spec.name, spec.languages), country=spec.country, timezone=spec.timezone,
        currency=spec.currency, tier=spec.tier, document_languages=spec.languages,
        approval_threshold=Decimal(spec.threshold), address=localized(spec.address, spec.languages),
        tax_id=spec.tax_id, representative_name=localized(name, spec.languages),
        representative_title=localized(title, spec.languages), review_languages=spec.review_languages,
        prevailing_language=spec.prevailing_language,
    ))


def _create_user(session: Session, password: str, row: DemoUser, account: Account | None) -> User:
    user = create_user(session, email=row.email, name=row.name, role=row.role, password=password, account=account,
                       language=row.language, timezone=row.timezone, title=row.title, locale=row.locale)
    if row.approval_limit is not None:
        user.approval_limit = Decimal(row.approval_limit)
    return user


def _summary(session: Session) -> str:
    counted = [
        ("accounts", Account), ("users", User), ("contracts", Contract), ("invoices", Invoice),
        ("credit notes", CreditNote), ("KPIs", Kpi), ("KPI actuals", KpiMeasurement),
        ("service requests", ServiceRequest), ("action items", ActionItem), ("change requests", ChangeRequest),
        ("plans", Plan),
    ]
    return ", ".join(f"{session.scalar(sa.select(sa.func.count()).select_from(model))} {label}" for label, model in counted)


class _AccountBuilder:
    """Builds one account's story. The sections depend on each other in this order:
    the contract first; KPI actuals, then invoices (a red SLA month earns a credit
    note); requests linked to the disputed invoice; feedback and actions linked to
    requests and KPIs; then CRs and the plan."""

    def __init__(self, session: Session, spec: DemoAccount, account: Account, users: dict[str, User], today: date,
                 now: datetime):
        self.session, self.spec, self.account, self.today, self.now = session, spec, account, today, now
        self.currency = spec.currency
        # Deterministic "noise" (volumes, payment days) so every load tells the same story.
        self.rng = random.Random(spec.key)
        # The tables name people by role: the firm's team, and this account's approver,
        # viewer and regional reviewer.
        self.people = {key: users[email] for key, email in FIRM_TEAM.items()}
        self.people.update({PERSON_KEYS[row.role]: users[row.email] for row in USERS
                            if row.role in PERSON_KEYS and spec.key in row.accounts})

    def text(self, value: Text) -> dict[str, str]:
        return localized(value, self.spec.languages)

    def flat(self, value: Text) -> str:
        """One line for plain-text fields (invoice lines): every language, " / " between."""
        return " / ".join(self.text(value).values())

    def add(self, obj: Any) -> Any:
        """Add a row of this account (children added through relationships carry
        their own ``account_id``)."""
        obj.account_id = self.account.id
        self.session.add(obj)
        return obj

    def build(self) -> None:
        self.contract = self._contract()
        self._escalation_matrix()
        self.kpi_months = self._kpi_actuals()
        self.invoices = self._invoices()
        self.session.flush()
        self._volumes()
        self.requests = self._requests()
        self.session.flush()
        self._feedback()
        self._actions()
        self._change_requests()
        self._plan()
        self._work_orders()
        self._service_credits()
        self._governance()
        self._opportunities()

    # contract ---------------------------------------------------------------------

    def _contract(self) -> Contract:
        spec = self.spec
        start = month_start(self.today, spec.started_months_ago)
        contract = create_contract(self.session, self.account, self.people["admin"], ContractDetails(
            number=spec.contract_number.format(year=start.year), title=self.text(spec.contract_title),
            start_date=start, end_date=month_start(start, -spec.term_months) - timedelta(days=1),
            signed_on=start - timedelta(days=18), currency=self.currency, governing_law=self.text(spec.governing_law),
            scope_lines=tuple(ScopeLineDetails(self.text(row.service), Decimal(row.quantity), row.unit,
                                               Decimal(row.unit_price)) for row in spec.scope),
            locations=tuple(LocationDetails(loc.country, loc.entity_name) for loc in spec.locations),
        ))
        # The request SLA targets per priority have no service (no page edits them).
        contract.sla_targets = [SlaTarget(account_id=self.account.id, priority=priority, first_response_minutes=first,
                                          resolution_minutes=resolution, business_hours=True)
                                for priority, (first, resolution) in SLA_MINUTES.items()]
        self.session.flush()
        self.scope_lines = contract.scope_lines
        self.kpis = {row.code: self._kpi(contract, row) for row in spec.kpis}
        return contract

    def _kpi(self, contract: Contract, row: KpiRow) -> Kpi:
        """A KPI of the contract as the firm defines it on the KPI page; an SLA's
        service credit comes with the contract's caps on credits (``CREDIT_CAPS``)."""
        is_sla = row.service_credit_percent is not None
        return save_kpi(self.session, contract, self.people["admin"], KpiDefinition(
            code=row.code, name=self.text(row.name), unit=row.unit, target=Decimal(row.target),
            direction=row.direction, weight=Decimal(row.weight), amber_tolerance=Decimal(row.amber_tolerance),
            is_sla=is_sla, service_credit_percent=Decimal(row.service_credit_percent) if is_sla else None,
            credit_caps=CREDIT_CAPS if is_sla else None,
        ))

    def _escalation_matrix(self) -> None:
        contacts = [ContactInput(level, OwnerSide.FIRM, self.people[key].name, self.people[key].email,
                                 job_title(self.people[key].title)) for level, key in ((1, "am"), (2, "admin"))]
        name, title, email, phone = self.spec.senior_manager
        contacts.append(ContactInput(3, OwnerSide.FIRM, name, email, job_title(title), phone))
        replace_escalation_matrix(self.session, self.account, self.people["admin"], contacts)

    # KPI actuals --------------------------------------------------------------------

    def _kpi_actuals(self) -> dict[str, list[date]]:
        """A year of monthly actuals from each KPI's status string, imported month by
        month through the KPI import on the 5th of the following month, as the
        measurement sources send them. Returns the red months per KPI (a red SLA month
        earns the client a service credit)."""
        red_months: dict[str, list[date]] = {row.code: [] for row in self.spec.kpis}
        for i in range(12):
            period, actuals = month_start(self.today, 12 - i), []
            for row in self.spec.kpis:
                if row.months[i] == "r":
                    red_months[row.code].append(period)
                actuals.append(kpi_imports.Actual(0, self.account.name, row.code, period,
                                                  self._actual(row, row.months[i], i), ""))
            imported = datetime.combine(month_start(period, -1) + timedelta(days=4), time(2), tzinfo=timezone.utc)
            kpi_imports.upsert_kpi_actuals(self.session, kpi_imports.Incoming(actuals), now=min(self.now, imported))
        return red_months

    @staticmethod
    def _actual(row: KpiRow, status: str, month: int) -> Decimal:
        """A value that the scorecard rates as ``status``: green between the target and
        a typical good month, amber within the tolerance, red well beyond it."""
        target, tolerance = Decimal(row.target), Decimal(row.amber_tolerance)
        worse = Decimal(-1 if row.direction is HIGHER else 1)
        if status == "g":
            value = target + (Decimal(row.good) - target) * Decimal((10, 8, 6, 9, 7)[month % 5]) / 10
        elif status == "a":
            value = target * (1 + worse * tolerance / 2)
        else:
            value = target * (1 + worse * tolerance * 2)
        return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    # invoices -----------------------------------------------------------------------

    def _invoices(self) -> list[Invoice]:
        """Monthly invoices per service location for the previous month's service,
        issued in each of the last twelve months, imported through the billing
        system's import. Most are paid; the first location's invoice of two months ago
        is overdue, the last location's of three months ago disputed (the SLAs' credits
        come later: ``_service_credits``)."""
        batch = []
        for months_ago in range(11, -1, -1):
            for loc_index, location in enumerate(self.spec.locations):
                special = {(0, 2): "overdue", (len(self.spec.locations) - 1, 3): "disputed"}.get((loc_index, months_ago))
                batch.append(self._invoice(location.country, months_ago, special))
        self._import(batch)
        invoices = list(self.session.scalars(sa.select(Invoice).where(Invoice.account_id == self.account.id)))
        self.disputed_invoice = next(i for i in invoices if i.status is InvoiceStatus.DISPUTED)
        self._purchase_orders(invoices)
        return invoices

    def _import(self, batch: list[dict[str, Any]]) -> None:
        """Invoices and credit notes as the billing system sends them (``POST /invoices``)."""
        items = [invoice_imports.validate_invoice(data) for data in batch]
        invoice_imports.upsert_invoices(self.session, invoice_imports.Incoming(items))

    def _purchase_orders(self, invoices: list[Invoice]) -> None:
        """One PO per number the invoices quote, sized at the year's expected billing
        with a 10 % margin (so this year's POs still have a balance to draw)."""
        billed: dict[str, Decimal] = {}
        for invoice in invoices:
            billed[invoice.po_number] = billed.get(invoice.po_number, Decimal(0)) + invoice.total
        for number, total in sorted(billed.items()):
            year = next(int(part) for part in number.split("-") if part.isdigit() and len(part) == 4)
            months = sum(1 for i in invoices if i.po_number == number)
            amount = quantize_money(total / months * 12 * Decimal("1.1"), self.currency)
            save_purchase_order(self.session, self.account, self.people["admin"], PurchaseOrderDetails(
                number=number, amount=amount, currency=self.currency, issued_on=date(year, 1, 1),
                valid_until=date(year, 12, 31), description=f"Services {year}", contract_id=self.contract.id))

    def _invoice(self, country: str, months_ago: int, special: str | None) -> dict[str, Any]:
        period = month_start(self.today, months_ago + 1)
        issued = min(first_weekday(month_start(self.today, months_ago)), self.today)
        lines = []
        for index, row in ((i, row) for i, row in enumerate(self.spec.scope) if row.location == country):
            monthly = Decimal(row.quantity) / 12
            if row.quantity != 12:  # volumes vary a little from month to month; flat fees do not
                monthly = (monthly * Decimal(1 + self.rng.uniform(-0.03, 0.03))).quantize(Decimal(1))
            line = {"description": self.flat(row.service), "quantity": monthly,
                    "unit_price": quantize_money(row.unit_price, self.currency)}
            if months_ago == 0:  # the latest invoices name their scope lines: priced against the contract
                line["scope_line_id"] = self.contract.scope_lines[index].id
                if (self.spec.code, country, index) == HELD_PRICE[:3]:
                    line["unit_price"] = quantize_money(HELD_PRICE[3], self.currency)
            lines.append(line)
        subtotal = sum((quantize_money(line["quantity"] * line["unit_price"], self.currency) for line in lines), Decimal(0))
        invoice = {
            "number": f"INV-{self.spec.code}-{country}-{issued:%Y%m}", "account": self.account.name,
            "contract": self.contract.number, "service_location": country, "period_start": period,
            "period_end": month_end(period), "issue_date": issued, "due_date": issued + timedelta(days=30),
            "currency": self.currency, "lines": lines, "tax": quantize_money(subtotal * TAX_RATES[country], self.currency),
            "po_number": self.spec.po_number.format(year=period.year, loc=country), "status": "issued",
        }
        if special == "disputed":
            invoice["status"] = "disputed"
        elif special is None and invoice["due_date"] < self.today:
            paid = issued + timedelta(days=self.spec.pays_after_days + self.rng.randint(-4, 4))
            invoice.update(status="paid", paid_on=min(paid, self.today))
        # else: issued, and overdue once its due date has passed (computed, not stored)
        return invoice

    def _service_credits(self) -> None:
        """Each month's service credits as the monthly run proposes them, under the
        contract's caps (``CREDIT_CAPS``, set with its SLAs): finance approved those of
        the months before last (each a credit note against the next invoice with room,
        else standalone, and its document); last month's wait for finance."""
        last = month_start(self.today, 1)
        for months_ago in range(12, 0, -1):
            credits.propose(self.session, month_start(self.today, months_ago), accounts=[self.account])
        finance = self.people["finance"]
        for credit in reversed(credits.credits_for(self.session, account_id=self.account.id,
                                                   status=ServiceCreditStatus.PROPOSED)):
            if credit.period < last:
                credits.approve(self.session, credit, self.account, finance)

    def _volumes(self) -> None:
        """Each scope line's volumes of the last six full months, near a twelfth of its
        yearly quantity, through the volume import; the first volume-priced line is over
        the contract last month and the second under it the month before."""
        rng = random.Random(f"volumes:{self.spec.code}")  # the demo's other figures keep their own sequence
        priced = [i for i, row in enumerate(self.spec.scope) if row.quantity != 12]
        shifts = {(priced[0], 1): Decimal("1.18"), (priced[1], 2): Decimal("0.85")}
        rows = ["contract,line,month,quantity"]
        for months_ago in range(6, 0, -1):
            period = month_start(self.today, months_ago)
            for index, (row, line) in enumerate(zip(self.spec.scope, self.contract.scope_lines)):
                monthly = Decimal(row.quantity) / 12
                if row.quantity != 12:
                    shift = shifts.get((index, months_ago), Decimal(1 + rng.uniform(-0.04, 0.04)))
                    monthly = (monthly * shift).quantize(Decimal(1))
                rows.append(f"{self.contract.number},{line.number},{period:%Y-%m},{monthly}")
        upsert_volumes(self.session, read_volume_file("\n".join(rows).encode()), now=self.now)

    # requests and feedback --------------------------------------------------------

    def _requests(self) -> list[ServiceRequest]:
        """Each request raised by its client user and taken through its thread by the
        request services, every step at its own time: the SLA clocks run on the account's
        business calendar, and the audit log and the outbox hold what they would."""
        requests = []
        for row in self.spec.requests:
            created = self.now - timedelta(hours=row.hours_ago)
            invoice = self.disputed_invoice if row.disputes_invoice else None
            number = invoice.number if invoice else ""
            request = create_request(
                self.session, self.account, self.people[row.by], category=row.category,
                subject=row.subject.format(invoice=number), description=row.description.format(invoice=number),
                priority=row.priority, invoice_id=invoice.id if invoice else None, now=created,
            )
            for step in row.thread:
                self._request_step(request, step, min(created + timedelta(hours=step.after_hours), self.now))
            if request.status is not row.status:
                raise AssertionError(f"demo request {row.subject!r} of {self.account.name} ended {request.status}, "
                                     f"not {row.status}")
            requests.append(request)
        return requests

    def _request_step(self, request: ServiceRequest, step: Comment | StatusChange | Escalated, at: datetime) -> None:
        if isinstance(step, Comment):
            add_comment(self.session, request, self.account, self.people[step.author], step.body,
                        internal=step.internal, now=at)
        elif isinstance(step, StatusChange):
            change_status(self.session, request, self.account, self.people[step.by], step.status, now=at)
        else:
            escalate(self.session, request, self.account, self.people[step.by], trigger=EscalationTrigger.CLIENT,
                     reason=step.reason, now=at)

    def _feedback(self) -> None:
        """The client's rating of a resolved request, two hours after it was resolved (a
        low one raises an action item for the account manager)."""
        for row, request in zip(self.spec.requests, self.requests):
            if row.feedback:
                rating, comment = row.feedback
                give_feedback(self.session, self.account, self.people[row.by], rating=rating, comment=comment,
                              request=request, now=request.resolved_at + timedelta(hours=2))

    # action registry ----------------------------------------------------------------

    def _actions(self) -> None:
        am = self.people["am"]
        for row in self.spec.actions:
            raised, changes = self._days_ago(row.created_days_ago), {}
            title, *translated = row.title
            translations = dict(zip(("zh", "vi"), translated, strict=True))
            if row.source is ActionSource.FEEDBACK:
                item = self._raised_by_rating(row)
                changes.update(title=title, title_translations=translations, description=row.description)
            else:
                owner = self.people[row.owner]
                item = actions.create(
                    self.session, self.account, am, title=title, title_translations=translations,
                    description=row.description,
                    owner_side=OwnerSide.CLIENT if owner.is_client else OwnerSide.FIRM, owner=owner, source=row.source,
                    due_date=raised.date() + timedelta(days=row.due_after_days),
                    kpi_id=self.kpis[row.kpi].id if row.kpi else None,
                    request_id=self.requests[row.request].id if row.request is not None else None, now=raised,
                )
            if row.status is not ActionStatus.OPEN:
                changes["status"] = row.status
            if changes:
                moved = raised if row.closed_days_ago is None else self._days_ago(row.closed_days_ago)
                actions.update(self.session, item, self.account, am, **changes, now=moved)

    def _raised_by_rating(self, row: ActionRow) -> ActionItem:
        request = self.requests[row.request]
        item = self.session.scalar(sa.select(ActionItem).join(Feedback, ActionItem.feedback_id == Feedback.id)
                                   .where(Feedback.request_id == request.id))
        if item is None:
            raise AssertionError(f"demo action {row.title!r}: the rating of {request.subject!r} raised no action item")
        return item

    def _days_ago(self, days: int) -> datetime:
        """08:00 UTC that many days ago: the same day in each demo account's time zone."""
        return min(self.now, datetime.combine(self.today - timedelta(days=days), time(8), tzinfo=timezone.utc))

    # governance calendar ------------------------------------------------------------

    def _governance(self) -> None:
        """The governance matrix's three meetings in the account's time zone, and the
        minutes of the latest service review (shared), with an action agreed in it."""
        am, approver, admin = self.people["am"], self.people["approver"], self.people["admin"]
        viewer = self.people.get("viewer")
        client_side = [approver] + ([viewer] if viewer else [])
        rules = [
            (MeetingKind.SERVICE_REVIEW, Cadence.MONTHLY, dict(week=2, weekday=1), time(10), 60, [am] + client_side),
            (MeetingKind.BUSINESS_REVIEW, Cadence.QUARTERLY, dict(week=-1, weekday=3), time(14), 120,
             [am, admin] + client_side),
            (MeetingKind.ACCOUNT_REVIEW, Cadence.YEARLY, dict(day_of_month=15), time(10), 180, [am, admin, approver]),
        ]
        meetings = [meetings_service.set_up_meeting(self.session, self.account, am, meetings_service.MeetingDetails(
            kind=kind, cadence=cadence, first_month=12 if cadence is Cadence.YEARLY else 1, start_time=at,
            timezone=self.spec.timezone, duration_minutes=minutes, location=self.flat(self.spec.address),
            video_url=f"https://meet.example.com/{self.spec.key.lower()}-{kind.value.replace('_', '-')}",
            users=people, **rule)) for kind, cadence, rule, at, minutes, people in rules]
        past = meetings_service.calendar(self.session, meetings[:1], self.today - timedelta(days=40), self.today)
        if not past:
            return
        latest = past[-1]
        meetings_service.write_minutes(
            self.session, latest, self.account, am, shared=True,
            body="Reviewed last month's scorecard and the open actions. The client asked for the revised "
                 "staffing plan before the quarterly business review.")
        meetings_service.raise_action(self.session, latest, self.account, am, title="Share the revised staffing plan",
                                      owner=am, due_date=self.today + timedelta(days=14))

    # change requests ------------------------------------------------------------------

    def _change_requests(self) -> None:
        """Drafted and submitted by the account manager; the approved one decided by the
        client's approver, signing with their name."""
        am = self.people["am"]
        for row in self.spec.change_requests:
            cr = create_draft(
                self.session, self.contract, am, title=self.text(row.title), description=self.text(row.description),
                in_scope=row.in_scope, effective_date=month_start(self.today, -row.effective_in_months),
                lines=[self._cr_line(spec) for spec in row.lines],
            )
            if row.outcome is CRStatus.DRAFT:
                continue
            submit(self.session, cr, self.account, am)
            # An approved CR went through client approval, so it must land there first.
            expected = CRStatus.PENDING_CLIENT_APPROVAL if row.outcome is CRStatus.APPROVED else row.outcome
            if cr.status is not expected:
                raise AssertionError(f"demo {cr.number} of {self.account.name} landed in {cr.status}, not {expected}")
            if row.outcome is CRStatus.APPROVED:
                approver = self.people["approver"]
                decide(self.session, cr, self.account, approver, version=cr.version, decision=Decision.APPROVED,
                       signature_name=approver.name)

    def _cr_line(self, spec: tuple) -> LineInput:
        change = LineChange(spec[0])
        if change is LineChange.ADD:
            _, description, unit, quantity, price = spec
            return LineInput(change, self.text(description), unit, Decimal(quantity), quantize_money(price, self.currency))
        scope_line = self.scope_lines[spec[1]]
        quantity, price = (spec[2], spec[3]) if change is LineChange.MODIFY else (None, None)
        return LineInput(change, {}, "", scope_line.quantity if quantity is None else Decimal(quantity),
                         scope_line.unit_price if price is None else quantize_money(price, self.currency),
                         scope_line_id=scope_line.id)

    # the pipeline -------------------------------------------------------------------

    def _opportunities(self) -> None:
        """The account manager's pipeline on the account, through the pipeline's services:
        an idea, the client's scope request made an opportunity and quoted, one lost, and
        one won that became a change request draft with its lines."""
        am, scale = self.people["am"], PIPELINE_SCALE.get(self.currency, Decimal(1))
        langs = ("en", *self.spec.languages)

        def in_languages(words: dict[str, str]) -> dict[str, str]:
            return {lang: words[lang] for lang in langs if lang in words}

        def lines(rows) -> list[pipeline.LineInput]:
            return [pipeline.LineInput(in_languages(words), unit, Decimal(quantity), quantize_money(Decimal(price) * scale,
                                                                                              self.currency))
                    for words, unit, quantity, price in rows]

        def closing(months: int) -> date:
            return month_end(month_start(self.today, -months))

        pipeline.create(self.session, self.account, am, title=in_languages(PIPELINE_TEXTS["idea"]), currency=self.currency,
                        value=quantize_money(Decimal(36000) * scale, self.currency), expected_close=closing(5),
                        notes="Raised at the last monthly service review: manual expense checks take two days a month.")
        scope = next((r for r in self.requests if r.category is RequestCategory.SCOPE), None)
        if scope is not None:
            asked = pipeline.from_request(self.session, scope, self.account, am)
            pipeline.edit(self.session, asked, am, title=in_languages(PIPELINE_TEXTS["scope"]),
                          currency=self.currency, value=None, probability=None, expected_close=closing(2),
                          notes=asked.notes, owner=am, lines=lines(PIPELINE_LINES["scope"]))
            pipeline.move_stage(self.session, asked, OpportunityStage.PROPOSED, am)
            issue_quotation(self.session, asked, self.account, am)
        lost = pipeline.create(self.session, self.account, am, title=in_languages(PIPELINE_TEXTS["lost"]),
                               currency=self.currency, value=quantize_money(Decimal(18000) * scale, self.currency),
                               stage=OpportunityStage.QUALIFIED, expected_close=closing(1))
        pipeline.move_stage(self.session, lost, OpportunityStage.LOST, am)
        won = pipeline.create(self.session, self.account, am, title=in_languages(PIPELINE_TEXTS["won"]), currency=self.currency,
                              stage=OpportunityStage.PROPOSED, expected_close=closing(0),
                              lines=lines(PIPELINE_LINES["won"]))
        pipeline.move_stage(self.session, won, OpportunityStage.WON, am)
        pipeline.to_change_request(self.session, won, self.contract, am)

    # work orders under regional review ---------------------------------------------

    def _work_orders(self) -> None:
        """Issued by the account manager in the account's languages: where the account
        has them reviewed, each is a draft sent to the regional reviewer, who comments
        on one and approves it (it is then issued) and has not yet read the other."""
        am, reviewer = self.people["am"], self.people.get("reviewer")
        for row in self.spec.work_orders:
            start = self.today + timedelta(days=row.starts_in_days)
            document = issue_work_order(
                self.session, self.account, self.contract, am, title={**self.text(row.title), **dict(row.other_titles)},
                description=self.text(row.description), po_number=row.po_number, start_date=start,
                end_date=start + timedelta(days=row.days),
                lines=[{"description": self.text(text), "unit": unit, "quantity": quantity,
                        "unit_price": str(quantize_money(price, self.currency))}
                       for text, unit, quantity, price in row.lines],
                acceptance_criteria=[], languages=list(self.spec.languages))
            if document.status is not DocumentStatus.IN_REVIEW or reviewer is None:
                continue
            if row.comment:
                document_review.comment(self.session, document, self.account, reviewer, version=document.sha256,
                                        text=row.comment)
            if row.approved:
                document_review.approve(self.session, document, self.account, reviewer, version=document.sha256)

    # joint business plan -----------------------------------------------------------

    def _plan(self) -> None:
        """Next financial year's JBP, drafted and submitted for review by the account
        manager, with the regional reviewer's comment in the reviewer's language."""
        fiscal_year, row = self.today.year + 1, self.spec.plan
        # A plan KPI named as a contract KPI follows that KPI's actuals.
        codes = {self.text(kpi.name)["en"]: kpi.code for kpi in self.spec.kpis}
        content = {
            "objectives": [self.text(objective) for objective in row.objectives],
            "kpis": [{"name": self.text(name), "baseline": baseline, "target": target, "unit": unit,
                      "kpi": codes.get(self.text(name)["en"])}
                     for name, baseline, target, unit in row.kpis],
            "initiatives": [{"title": self.text(title), "owner": self.people[owner].name,
                             "due": f"{fiscal_year}-{due}", "status": status}
                            for title, owner, due, status in row.initiatives],
            "budget": [{"item": self.text(item), "amount": str(quantize_money(amount, self.currency))}
                       for item, amount in row.budget],
            "risks": [{"risk": self.text(risk), "mitigation": self.text(mitigation), "owner": self.people[owner].name}
                      for risk, mitigation, owner in row.risks],
        }
        am = self.people["am"]
        plan = create_plan(self.session, self.account, am, plan_type=PlanType.JBP, period=f"FY{fiscal_year}",
                           content=content)
        submit_for_review(self.session, plan, am)
        if row.review:
            section, body = row.review
            review(self.session, plan, self.account, self.people["reviewer"], decision=ReviewDecision.COMMENT, body=body,
                   section=section)

