"""What other pages show of the pipeline, to the firm's issuers only: on a client's scope
request, its opportunity or the button that makes one; on a change request, the
opportunity it was drafted from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
import sqlalchemy as sa

from portal.models import ChangeRequest, Opportunity, RequestCategory, Role, ServiceRequest
from portal.pipeline.forms import FromRequestForm
from portal.security import ISSUERS

READERS = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)  # who reads the pipeline


@dataclass
class RequestPipeline:
    opportunity: Opportunity | None
    form: FromRequestForm | None


def for_request(session: Session, request: ServiceRequest, user) -> RequestPipeline | None:
    """A scope request's opportunity, or the form that makes one; None for anyone else."""
    if user.role not in ISSUERS or request.category is not RequestCategory.SCOPE:
        return None
    opportunity = session.scalar(sa.select(Opportunity).where(Opportunity.source_request_id == request.id))
    return RequestPipeline(opportunity, None if opportunity else FromRequestForm())


def for_change_request(session: Session, cr: ChangeRequest, user) -> Opportunity | None:
    """The opportunity a CR was drafted from, for those who may open it (a client never
    loads one; a regional reviewer reads the CR but not the pipeline)."""
    if user.role not in READERS or cr.opportunity_id is None:
        return None
    return session.scalar(sa.select(Opportunity).where(Opportunity.id == cr.opportunity_id))
