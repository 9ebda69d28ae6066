"""GET and POST /contracts/{id}/volumes: a contract's monthly volumes per scope line
against the contracted quantity, and their import (``portal.volumes``)."""

from __future__ import annotations

from typing import Any, Literal

from flask import request
from pydantic import BaseModel, Field

from docgen.formatting import plain_decimal
from portal.api import bp
from portal.api.common import ApiError, route
from portal.extensions import db
from portal.kpis.service import parse_period, previous_month
from portal.models import Account, Contract
from portal.security import get_or_404
from portal.volumes import imports, service
from portal.volumes.routes import IMPORTERS


class VolumesIn(BaseModel):
    rows: list[dict[str, Any]] = Field(
        max_length=5000, description="All or nothing; each {line: the line's No. on the contract (1, 2, 3...) or "
                                     "scope_line_id: its id, month: YYYY-MM, quantity: a decimal string ≥ 0 in the "
                                     "line's unit}")


class VolumesWritten(BaseModel):
    new: int
    updated: int


class VolumeMonth(BaseModel):
    month: str
    quantity: str | None
    variance: str | None = Field(description="Actual against contracted, as a share: 0.12 is 12 % over")
    flag: Literal["over", "under", "within"] | None


class VolumeLine(BaseModel):
    id: int
    number: int
    service: dict[str, str]
    unit: str
    contracted_per_month: str
    active: bool
    months: list[VolumeMonth]


class VolumesOut(BaseModel):
    account_id: int
    contract_id: int
    tolerance: str
    lines: list[VolumeLine]


def _ratio(value) -> str | None:
    return None if value is None else format(value.quantize(service.RATIO_QUANTUM), "f")


@route(bp, "/contracts/<int:contract_id>/volumes", "GET",
       "A contract's monthly volumes per scope line against the contracted quantity (a twelfth of the yearly), "
       "over or under use flagged beyond the tolerance, for the 12 months to `period`",
       response=VolumesOut, load={"contract_id": Contract}, tag="contracts",
       query={"period": "YYYY-MM, the last month shown (default: last month in the account's time zone)"})
def get_volumes(contract: Contract):
    account = get_or_404(db.session, Account, contract.account_id)
    until = previous_month(account.today().replace(day=1))
    if request.args.get("period"):
        until = parse_period(request.args["period"])
        if until is None:
            raise ApiError(422, fields={"period": "YYYY-MM"})
    table = service.volume_table(db.session, contract, until)
    return {"account_id": contract.account_id, "contract_id": contract.id,
            "tolerance": plain_decimal(service.VOLUME_TOLERANCE),
            "lines": [{"id": row.line.id, "number": row.line.number, "service": row.line.service, "unit": row.line.unit,
                       "contracted_per_month": _ratio(row.contracted), "active": row.line.removed_at is None,
                       "months": [{"month": f"{month:%Y-%m}",
                                   "quantity": None if cell is None else plain_decimal(cell.actual),
                                   "variance": None if cell is None else _ratio(cell.variance),
                                   "flag": None if cell is None else cell.flag}
                                  for month, cell in zip(table.months, row.cells)]}
                      for row in table.rows]}


@route(bp, "/contracts/<int:contract_id>/volumes", "POST",
       "Import monthly volumes of the contract's scope lines: rows of {line or scope_line_id, month, quantity}, "
       "all or nothing (422 names each bad row's field, `rows.3.quantity`); a line and month imported again "
       "is replaced", roles=IMPORTERS, body=VolumesIn, response=VolumesWritten, load={"contract_id": Contract},
       tag="contracts")
def post_volumes(contract: Contract, body: VolumesIn):
    summary = imports.upsert_volumes(db.session, imports.read_volume_rows(contract, body.rows))
    return summary.counts()
