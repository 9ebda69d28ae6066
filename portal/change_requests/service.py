"""Change requests: drafting, pricing and freezing versions for approval."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from portal import audit
from portal.models import (
    Account,
    ChangeRequest,
    ChangeRequestLine,
    ChangeRequestVersion,
    Contract,
    CRStatus,
    LineChange,
    User,
)
from portal.models.base import utcnow
from portal.sequences import next_value
from portal.versioning import canonical_json, content_hash


def line_impact(line: ChangeRequestLine) -> Decimal:
    """What a line adds to (or takes from) the contract's price."""
    new = line.quantity * line.unit_price
    if line.change is LineChange.ADD:
        return new
    if line.change is LineChange.REMOVE:
        return -new
    return new - (line.old_quantity or Decimal(0)) * (line.old_unit_price or Decimal(0))


def price_impact(lines: list[ChangeRequestLine]) -> Decimal:
    return sum((line_impact(line) for line in lines), Decimal(0))


def new_change_request(session: Session, contract: Contract, *, created_by: User | None, **fields: Any) -> ChangeRequest:
    """A draft CR on ``contract``, numbered CR-NNNN per contract."""
    number = next_value(session, f"cr:{contract.id}")
    cr = ChangeRequest(
        account_id=contract.account_id,
        contract=contract,
        number=f"CR-{number:04d}",
        currency=contract.currency,
        created_by=created_by,
        status=CRStatus.DRAFT,
        version_number=0,
        price_impact=Decimal(0),
        **fields,
    )
    session.add(cr)
    return cr


STORED = Decimal("0.0001")  # the scale the database keeps decimals at


def _exact(value: Decimal | None) -> Decimal | None:
    """Decimals at their stored scale, so that a version hashed before a flush equals
    the same version recomputed from the database ("38.00" and "38.0000" agree)."""
    return None if value is None else Decimal(value).quantize(STORED)


def canonical_content(cr: ChangeRequest) -> dict[str, Any]:
    """Everything the client approves, and nothing else."""
    return {
        "number": cr.number,
        "contract": cr.contract.number,
        "title": cr.title,
        "description": cr.description,
        "in_scope": cr.in_scope,
        "effective_date": cr.effective_date,
        "currency": cr.currency,
        "lines": [
            {
                "change": line.change,
                "description": line.description,
                "unit": line.unit,
                "quantity": _exact(line.quantity),
                "unit_price": _exact(line.unit_price),
                "old_quantity": _exact(line.old_quantity),
                "old_unit_price": _exact(line.old_unit_price),
                "amount": _exact(line_impact(line)),
            }
            for line in cr.lines
        ],
        "price_impact": _exact(price_impact(cr.lines)),
    }


def submit(session: Session, cr: ChangeRequest, account: Account, by: User | None) -> ChangeRequestVersion:
    """Freeze the current content as a new version and send it for approval: internal
    approval first when the price impact exceeds the account's threshold, else the
    client's. Earlier versions are voided, so nothing decided on them counts."""
    canonical = canonical_json(canonical_content(cr))
    digest = content_hash(canonical)
    now = utcnow()
    for old in cr.versions:
        if old.voided_at is None:
            old.voided_at = now
    version = ChangeRequestVersion(
        account_id=cr.account_id, number=cr.version_number + 1, content_hash=digest, canonical=canonical, created_by_id=by.id if by else None
    )
    cr.versions.append(version)
    cr.version, cr.version_number = digest, version.number
    cr.price_impact = price_impact(cr.lines)
    cr.submitted_at = now
    over_threshold = abs(cr.price_impact) > account.cr_approval_threshold
    cr.status = CRStatus.PENDING_INTERNAL_APPROVAL if over_threshold else CRStatus.PENDING_CLIENT_APPROVAL
    session.flush()
    audit.record(session, "change_request.submitted", cr, actor=by, data={"version": digest, "status": cr.status.value})
    return version
