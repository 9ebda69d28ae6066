"""Business plans: drafting and freezing versions for review."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal import audit
from portal.models import Plan, PlanStatus, PlanVersion, User
from portal.versioning import canonical_json, content_hash


def submit_for_review(session: Session, plan: Plan, by: User | None) -> PlanVersion:
    """Freeze the plan's content as a new version (content hash) and open its review."""
    digest = content_hash(canonical_json(plan.content))
    version = PlanVersion(
        account_id=plan.account_id, number=(plan.version_number or 0) + 1, content_hash=digest, content=plan.content,
        created_by_id=by.id if by else None,
    )
    plan.versions.append(version)
    plan.version, plan.version_number = digest, version.number
    plan.status = PlanStatus.IN_REVIEW
    session.flush()
    audit.record(session, "plan.submitted", plan, actor=by, data={"version": digest})
    return version
