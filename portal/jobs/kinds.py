"""The portal's job kinds: the monthly review pack, a document's PDF, a report's PDF, an
uploaded file's import, and the periodic work the scheduler asks for (what ``flask sla
check``, ``flask mail send`` and the renewal reminders do, the daily digests of
notifications, and each month's review packs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from docgen.i18n import N_
from portal.domain import DomainError
from portal.imports import ImportRefused, job_progress
from portal.jobs.core import JobContext, enqueue, job, url_path
from portal.models import Account, Contract, Job, JobStatus, User


@job("review_pack")
def review_pack(ctx: JobContext, *, period: str, languages: list[str] | None = None) -> str:
    """The review pack of the job's account for ``period`` (YYYY-MM), signed by who
    asked for it, or for the monthly run by the first active administrator."""
    from portal.kpis.review_pack import issue, issuer_of_record
    from portal.kpis.service import parse_period

    account = ctx.session.scalar(sa.select(Account).where(Account.id == ctx.account_id))
    month = parse_period(period)
    if account is None or month is None:
        raise DomainError(_l("This page does not exist, or you do not have access to it."), status=404)
    by = ctx.user or issuer_of_record(ctx.session)
    if by is None:
        raise DomainError(_l("An active administrator must exist to sign the review pack as the provider."))
    document = issue(ctx.session, account, month, by, languages, progress=ctx.progress)
    return url_path("documents.download", document_id=document.id)


def _sees_the_file(session, viewer: User, row: Job) -> bool:
    from portal.documents.renditions import sees_file

    return sees_file(session, str(row.params.get("sha256", "")))


@job("document_pdf", shown_to=_sees_the_file)
def document_pdf(ctx: JobContext, *, sha256: str, document_id: int) -> str:
    """The PDF/A of the .docx with this SHA-256, made once whoever asks (anyone who sees
    a document of that file follows the job). Its link is the PDF of the document it was
    first asked for."""
    from portal.documents.renditions import make_pdf

    make_pdf(ctx.session, sha256, progress=ctx.progress)
    return url_path("documents.pdf", document_id=document_id)


@job("report_pdf")
def report_pdf(ctx: JobContext, *, data: dict[str, Any], filename: str) -> str:
    """A report as PDF from docgen's input, which the page that asked computed from what
    its reader sees (the management report): rendered and converted by LibreOffice here,
    not in the request, and kept as the job's output for whoever asked for it."""
    import docgen
    from portal.documents.renditions import CONVERTING, converted

    docx = docgen.render(data)
    ctx.progress(0.2, CONVERTING)
    ctx.keep_output(f"{filename}.pdf", "application/pdf", converted(docx))
    return url_path("jobs.output", job_id=ctx.job_id)


# How far an invoice import has got: its phases (``billing.imports``' labels) on the bar.
INVOICE_IMPORT_PHASES = {
    "Checking invoices": (0.1, 0.6, N_("Checking the invoices")),
    "Writing new invoices": (0.6, 0.75, N_("Writing the invoices")),
    "Updating invoices": (0.75, 0.85, N_("Writing the invoices")),
    "Writing invoice lines": (0.85, 0.98, N_("Writing the invoices")),
}
MAX_PROBLEMS_KEPT = 500  # a refused file's problems on the job's row and in each poll: the first ones


def _import_shown(row: Job, counts: Callable[[dict[str, Any]], str], in_words: Callable[[str], str]) -> dict[str, Any]:
    """An import's end in the reader's words: ``counts`` of a finished one's result, or
    how many problems refused the file and each one by row and column (``in_words``)."""
    result = row.result or {}
    if row.status is JobStatus.FINISHED and result and "problems" not in result:
        return {"message": counts(result)}
    if row.status is JobStatus.FAILED and "problems" in result:
        count, problems = result["count"], result["problems"]
        if count > len(problems):
            message = _("%(num)s problems: nothing was imported. The first %(shown)s are listed.", num=count,
                        shown=len(problems))
        else:
            message = ngettext("%(num)s problem: nothing was imported", "%(num)s problems: nothing was imported", count)
        return {"message": message,
                "problems": [{"row": line, "column": column, "message": in_words(text)}
                             for line, column, text in problems]}
    return {}


def _refused(ctx: JobContext, refusal: ImportRefused) -> None:
    """Keep a refused file's problems (the first ones) as the job's result."""
    ctx.result = {"count": len(refusal.problems),
                  "problems": [[p.line, p.field, p.message] for p in refusal.problems[:MAX_PROBLEMS_KEPT]]}


def _uploaded(ctx: JobContext) -> bytes:
    upload = ctx.file()
    if upload is None:
        raise DomainError(_l("The uploaded file is no longer here: upload it again."))
    ctx.progress(0.02, N_("Reading the file"))
    return upload[1]


def invoice_import_shown(row: Job) -> dict[str, Any]:
    from portal.billing.imports import in_words

    def counts(result: dict[str, Any]) -> str:
        invoices, notes = result["invoices"], result["credit_notes"]
        return _("Imported %(invoices)s (%(new)s new, %(updated)s updated) and %(notes)s.",
                 invoices=ngettext("%(num)s invoice", "%(num)s invoices", invoices),
                 new=result["new_invoices"], updated=invoices - result["new_invoices"],
                 notes=ngettext("%(num)s credit note", "%(num)s credit notes", notes))

    return _import_shown(row, counts, in_words)


@job("invoice_import", show=invoice_import_shown)
def invoice_import(ctx: JobContext, *, filename: str) -> str:
    """The invoices and credit notes of the file uploaded with the job, imported as
    ``flask import invoices`` does: all or nothing, upserting by number (a retried job
    updates what an earlier attempt wrote, if any was kept: never twice), for the
    accounts of the user who started it. Its result is the counts, or each problem of
    a refused file by row and column; it leads to the invoices."""
    from portal.billing.imports import read_invoice_file, upsert_invoices

    content = _uploaded(ctx)
    try:
        summary = upsert_invoices(ctx.session, read_invoice_file(content),
                                  progress=job_progress(ctx.progress, INVOICE_IMPORT_PHASES))
    except ImportRefused as refusal:
        _refused(ctx, refusal)
        raise
    ctx.result = summary.counts()
    return url_path("billing.index")


# How far an account import has got (``onboarding.imports``' labels).
ACCOUNT_IMPORT_PHASES = {
    "Checking accounts": (0.1, 0.5, N_("Checking the accounts")),
    "Creating accounts": (0.5, 0.98, N_("Creating the accounts")),
}


def account_import_shown(row: Job) -> dict[str, Any]:
    from portal.onboarding.imports import in_words

    def counts(result: dict[str, Any]) -> str:
        return _("Imported %(accounts)s, %(contracts)s and %(lines)s.",
                 accounts=ngettext("%(num)s account", "%(num)s accounts", result["accounts"]),
                 contracts=ngettext("%(num)s contract", "%(num)s contracts", result["contracts"]),
                 lines=ngettext("%(num)s scope line", "%(num)s scope lines", result["scope_lines"]))

    return _import_shown(row, counts, in_words)


@job("account_import", show=account_import_shown)
def account_import(ctx: JobContext, *, filename: str) -> str:
    """The accounts, contracts and scope lines of the file uploaded with the job, created
    as ``flask import accounts`` creates them: all or nothing, by the administrator who
    started it. The work and the job's end commit together, so a retried attempt finds
    nothing of an earlier one. Its result is the counts, or each problem by row and
    column; it leads to the accounts."""
    from portal.onboarding.imports import create_accounts, read_accounts_file

    content = _uploaded(ctx)
    if ctx.user is None:
        raise DomainError(_l("Only an administrator imports accounts."), status=403)
    try:
        summary = create_accounts(ctx.session, ctx.user, read_accounts_file(content),
                                  progress=job_progress(ctx.progress, ACCOUNT_IMPORT_PHASES))
    except ImportRefused as refusal:
        _refused(ctx, refusal)
        raise
    ctx.result = {"accounts": summary.accounts, "contracts": summary.contracts, "scope_lines": summary.scope_lines}
    return url_path("main.accounts")


@job("review_packs")
def review_packs(ctx: JobContext) -> None:
    """Last month's review pack of every account with a contract (its month in its own
    time zone), one job each: asked for again, the same account and month is the same job."""
    from portal.kpis.service import previous_month

    has_contract = sa.exists().where(Contract.account_id == Account.id)
    for account in ctx.session.scalars(sa.select(Account).where(has_contract).order_by(Account.id)):
        period = f"{previous_month(account.today().replace(day=1)):%Y-%m}"
        enqueue(ctx.session, "review_pack", account_id=account.id, key=f"monthly:{account.id}:{period}", period=period)


@job("service_credits")
def service_credits(ctx: JobContext) -> None:
    """Propose last month's service credits (UTC) of every SLA KPI that missed its
    target: run again, proposals are computed again and decisions left alone."""
    from portal.credits.service import propose
    from portal.kpis.service import previous_month
    from portal.models.base import utcnow

    period = previous_month(utcnow().date().replace(day=1))
    result = propose(ctx.session, period)
    ctx.result = {"period": f"{period:%Y-%m}", "proposed": result.proposed, "recomputed": result.recomputed}


@job("portfolio_alerts")
def portfolio_alerts(ctx: JobContext, *, period: str | None = None) -> None:
    """Raise the adverse variances of ``period`` (YYYY-MM; last month, UTC, by default)
    of every account, each once, and close those that no longer hold."""
    from portal.kpis.service import parse_period, previous_month
    from portal.models.base import utcnow
    from portal.portfolio.service import check_alerts

    month = parse_period(period) or previous_month(utcnow().date().replace(day=1))
    raised = check_alerts(ctx.session, month)
    ctx.result = {"period": f"{month:%Y-%m}", "raised": len(raised)}


@job("meeting_reminders")
def meeting_reminders(ctx: JobContext) -> None:
    """A reminder of each meeting that starts within a day, one job per occurrence: asked
    for again (every hour), the same occurrence is the same job, so it is told once."""
    from portal.meetings.service import due_reminders

    for found in due_reminders(ctx.session):
        enqueue(ctx.session, "meeting_reminder", account_id=found.meeting.account_id,
                key=f"{found.meeting.id}:{found.key}", meeting_id=found.meeting.id, starts_at=found.key)


@job("meeting_reminder")
def meeting_reminder(ctx: JobContext, *, meeting_id: int, starts_at: str) -> None:
    """Remind the attendees of one occurrence, unless the meeting was moved, removed or
    has begun meanwhile."""
    from portal.meetings import service
    from portal.models import GovernanceMeeting
    from portal.models.base import utcnow

    meeting = ctx.session.scalar(sa.select(GovernanceMeeting).where(GovernanceMeeting.id == meeting_id))
    moment = service.parse_key(starts_at)
    found = service.occurrence(ctx.session, meeting, moment) if meeting is not None and moment is not None else None
    if found is None or found.starts_at <= utcnow():
        return
    account = ctx.session.scalar(sa.select(Account).where(Account.id == meeting.account_id))
    service.remind(ctx.session, found, account)


@job("sla_check")
def sla_check(ctx: JobContext) -> None:
    """What ``flask sla check`` does: escalate the requests whose targets passed."""
    from portal.service_requests.service import check_sla

    check_sla(ctx.session)


@job("mail_send")
def mail_send(ctx: JobContext) -> None:
    """What ``flask mail send`` does: send the notifications that are due (each
    committed as it is sent)."""
    from portal.notifications import send_due

    send_due(ctx.session)


@job("notification_digest")
def notification_digest(ctx: JobContext) -> None:
    """Queue the daily digest of each user who chose it and whose morning has come (the
    mail round sends it)."""
    from portal.notifications.digest import send_digests

    send_digests(ctx.session)


@job("contract_renewals")
def contract_renewals(ctx: JobContext) -> None:
    """Remind the account managers of contracts at 90, 60 and 30 days from their end."""
    from portal.onboarding.service import remind_renewals

    remind_renewals(ctx.session)


# How far a volume import has got (``volumes.imports``' labels).
VOLUME_IMPORT_PHASES = {"Checking volumes": (0.1, 0.9, N_("Checking the volumes"))}


def volume_import_shown(row: Job) -> dict[str, Any]:
    from portal.volumes.imports import in_words

    def counts(result: dict[str, Any]) -> str:
        return _("Imported %(volumes)s (%(new)s new, %(updated)s updated).",
                 volumes=ngettext("%(num)s monthly volume", "%(num)s monthly volumes",
                                  result["new"] + result["updated"]),
                 new=result["new"], updated=result["updated"])

    return _import_shown(row, counts, in_words)


@job("volume_import", show=volume_import_shown)
def volume_import(ctx: JobContext, *, filename: str) -> str:
    """The monthly volumes of the file uploaded with the job, all or nothing, for the
    contracts of the user who started it (upserting by line and month, so a retried job
    never writes twice). Its result is the counts, or each problem by row and column; it
    leads to the volumes of the first contract of the file."""
    from portal.volumes.imports import read_volume_file, upsert_volumes

    content = _uploaded(ctx)
    incoming = read_volume_file(content)
    try:
        summary = upsert_volumes(ctx.session, incoming, progress=job_progress(ctx.progress, VOLUME_IMPORT_PHASES))
    except ImportRefused as refusal:
        _refused(ctx, refusal)
        raise
    ctx.result = summary.counts()
    if not incoming.volumes:
        return url_path("volumes.upload")
    contract = ctx.session.scalar(sa.select(Contract).where(Contract.number == incoming.volumes[0].contract))
    return url_path("volumes.show", account_id=contract.account_id, contract_id=contract.id)
