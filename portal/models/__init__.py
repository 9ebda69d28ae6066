"""All models, importable from one place (Alembic and the app import this module)."""

from portal.models.access import Authenticator, LinkPurpose, OneTimeLink, RecoveryCode, TwoFactorRequirement
from portal.models.account import Account, EscalationContact, OwnerSide, Tier, account_members
from portal.models.action import ActionComment, ActionItem, ActionSource, ActionStatus
from portal.models.audit import AuditChainHead, AuditEvent
from portal.models.base import AccountOwned, Base
from portal.models.change_request import (
    Approval,
    ApprovalStage,
    ChangeRequest,
    ChangeRequestLine,
    ChangeRequestVersion,
    CRStatus,
    Decision,
    LineChange,
    LineVerdict,
)
from portal.models.contract import Contract, Kpi, KpiDirection, Priority, ScopeLine, ServiceLocation, SlaTarget
from portal.models.document import (
    REVIEWED_KINDS,
    Document,
    DocumentKind,
    DocumentReview,
    DocumentStatus,
    IdempotencyKey,
    NumberSequence,
    PdfRendition,
    ReviewVerdict,
)
from portal.models.files import StoredFile
from portal.models.invoice import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTotal,
    PurchaseOrder,
    RevenueForecast,
)
from portal.models.job import Job, JobFile, JobOutput, JobStatus
from portal.models.meeting import Cadence, GovernanceMeeting, MeetingAttendee, MeetingKind, MeetingMinutes
from portal.models.kpi import KpiComment, KpiMeasurement, ScorecardAcknowledgement
from portal.models.opportunity import (
    STAGE_PROBABILITY,
    Opportunity,
    OpportunityLine,
    OpportunitySource,
    OpportunityStage,
)
from portal.models.service_credit import ServiceCredit, ServiceCreditStatus
from portal.models.plan import Plan, PlanReview, PlanSignoff, PlanStatus, PlanType, PlanVersion, ReviewDecision
from portal.models.notification import InAppNotification, Notification, NotificationSettings, NotificationStatus
from portal.models.people import DecisionRole, Interaction, InteractionAttendee, InteractionKind, Stakeholder
from portal.models.request import (
    Attachment,
    Escalation,
    EscalationTrigger,
    Feedback,
    RequestCategory,
    RequestComment,
    RequestStatus,
    ServiceRequest,
)
from portal.models.volume import ScopeLineVolume
from portal.models.portfolio import AlertKind, PortfolioAlert
from portal.models.user import CLIENT_ROLES, FIRM_ROLES, ApiToken, LoginFailure, Role, User, UserSession

__all__ = [name for name in dir() if not name.startswith("_")]
