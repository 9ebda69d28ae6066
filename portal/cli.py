"""Flask CLI commands: ``seed-demo``, ``users create``, ``users invite``, ``audit verify``,
``sla check``, ``contracts remind``, ``mail send``, the imports, ``review-pack``, and the
background jobs' ``worker`` and ``scheduler``."""

from __future__ import annotations

import sys
import unicodedata

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from portal.extensions import db
from portal.models import Account, Role, User
from portal.security import unscoped


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(users)
    app.cli.add_command(audit_group)
    app.cli.add_command(sla_group)
    app.cli.add_command(contracts_group)
    app.cli.add_command(credits_group)
    app.cli.add_command(mail_group)
    app.cli.add_command(import_group)
    app.cli.add_command(review_pack_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(scheduler_command)


@click.command("seed-demo")
@with_appcontext
@click.option("--password", default=None, help="Password for every demo user (default: see the README).")
@click.option("--if-empty", is_flag=True, help="Do nothing (exit 0) when the database already holds data.")
@click.option("--scale", default=0, type=click.IntRange(min=0), metavar="N",
              help="Also load N synthetic invoices over generated accounts (for benchmarks).")
def seed_demo(password: str | None, if_empty: bool, scale: int) -> None:
    """Load the demo accounts, users, contracts and history into an empty database."""
    from portal import demo

    with unscoped():
        if not demo.database_is_empty(db.session):
            if if_empty:
                click.echo("The database already holds data; demo data not loaded.")
                return
            click.echo("The database already holds data; seed-demo only loads into an empty database. "
                       "Point DATABASE_URL at a new database, or drop this one and run `flask --app wsgi db upgrade`.",
                       err=True)
            sys.exit(1)
        summary = demo.load(db.session, password=password or demo.DEFAULT_PASSWORD)
        db.session.commit()
        if scale:
            from portal.billing.scale import load_scale

            summary += "; " + load_scale(db.session, scale, password=password or demo.DEFAULT_PASSWORD)
            db.session.commit()
    click.echo(f"Demo data loaded: {summary}.")
    click.echo(f"Sign in as e.g. approver@huanan.example with the password {password or demo.DEFAULT_PASSWORD!r}.")


users = AppGroup("users", help="Manage users.")


def _account_named(name: str) -> Account | None:
    """The account whose legal name in any language is ``name``, whatever its case
    (the English name of a Chinese account finds it too). Names are unique across
    accounts and languages (``onboarding.service``), so at most one matches."""
    wanted = unicodedata.normalize("NFC", name).strip().casefold()
    for account in db.session.scalars(sa.select(Account).order_by(Account.id)):
        if any(unicodedata.normalize("NFC", text).strip().casefold() == wanted
               for text in (account.name, *account.names.values())):
            return account
    return None


def _account_ref(ref: str) -> Account | None:
    """The account ``ref`` names: its id, or its legal name (``_account_named``)."""
    by_id = db.session.scalar(sa.select(Account).where(Account.id == int(ref))) if ref.isdigit() else None
    return by_id or _account_named(ref)


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--account", "account_name", default=None,
              help="The client account (client roles), by its legal name in any language, any case.")
@click.option("--name", default="", help="Display name (default: the e-mail).")
@click.option("--language", default="en", type=click.Choice(["en", "zh", "vi"]))
@click.option("--timezone", default="UTC")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(email, role, account_name, name, language, timezone, password) -> None:
    """Create a user; asks for the password unless --password is given."""
    from portal.admin.service import assign, create_user
    from portal.domain import DomainError

    role = Role(role)
    with unscoped():
        account = None
        if account_name:
            account = _account_named(account_name)
            if account is None:
                raise click.BadParameter(f"no account named {account_name!r}", param_hint="--account")
        try:
            user = create_user(db.session, email=email, name=name, role=role, password=password,
                               account=account if role.is_client else None, language=language, timezone=timezone)
        except DomainError as error:
            for field, message in error.fields.items():
                click.echo(f"{field}: {message}", err=True)
            sys.exit(2)
        if account is not None and not role.is_client:
            assign(db.session, user, account)
        db.session.commit()
    click.echo(f"Created {role.value} {user.email}.")


@users.command("invite")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--account", "account_ref", default=None,
              help="The account, by id or legal name (any language, any case): a client user's, or one "
                   "a firm user works on.")
@click.option("--name", default="", help="Display name (default: the e-mail).")
@click.option("--language", default="en", type=click.Choice(["en", "zh", "vi"]),
              help="The language of the portal and of the invitation e-mail.")
@click.option("--timezone", default=None, help="Default: a client account's, else UTC.")
def invite_user_command(email, role, account_ref, name, language, timezone) -> None:
    """Invite a user: the invitation e-mail, with a link to choose a password (72 hours,
    once), waits in the outbox for `flask mail send`."""
    from portal.domain import DomainError
    from portal.users.service import invite_user

    role = Role(role)
    with unscoped():
        account = None
        if account_ref:
            account = _account_ref(account_ref)
            if account is None:
                raise click.BadParameter(f"no account with the id or name {account_ref!r}", param_hint="--account")
        try:
            user = invite_user(db.session, None, email=email, name=name, role=role, account=account,
                               language=language, timezone=timezone)
        except DomainError as error:
            for field, message in (error.fields or {"": str(error.message)}).items():
                click.echo(f"{field}: {message}" if field else message, err=True)
            sys.exit(2)
        db.session.commit()
    click.echo(f"Invited {role.value} {user.email}; the e-mail is in the outbox (`flask --app wsgi mail send`).")


audit_group = AppGroup("audit", help="The audit log.")


@audit_group.command("verify")
def audit_verify() -> None:
    """Check the hash chain of decisions and document issues, and the chain head that
    every writer updates, with the configured keys; exit 1 at the first broken link."""
    from portal.audit import keyring, verify_chain

    with unscoped():
        report = verify_chain(db.session)
    if report.ok:
        click.echo(f"Audit chain intact: {report.checked} chained events.")
        signed = ", ".join(f"{key_id} ({count})" for key_id, count in report.key_ids.items()) or "none yet"
        click.echo(f"Keyed links by key id: {signed}; plain SHA-256 links from before keying: {report.plain}; "
                   f"new links are signed by {keyring().signing_id}.")
        return
    click.echo(f"Audit chain broken at event #{report.broken_at}: {report.reason} "
               f"({report.checked} events before it are intact).", err=True)
    sys.exit(1)


sla_group = AppGroup("sla", help="Service-level clocks.")


@sla_group.command("check")
def sla_check() -> None:
    """Escalate requests whose response or resolution target has passed (idempotent:
    run it from a scheduler every few minutes)."""
    from portal.service_requests.service import check_sla

    with unscoped():
        escalations = check_sla(db.session)
        db.session.commit()
    click.echo(f"{len(escalations)} escalation(s).")
    for escalation in escalations:
        click.echo(f"  request #{escalation.request_id}: level {escalation.from_level} -> {escalation.to_level} "
                   f"({escalation.trigger.value})")


contracts_group = AppGroup("contracts", help="Client contracts.")


@contracts_group.command("remind")
def contracts_remind() -> None:
    """Remind the account managers of each contract that ends within 90, 60 or 30 days,
    once at each mark (idempotent: run it daily from a scheduler)."""
    from portal.onboarding.service import remind_renewals

    with unscoped():
        sent = remind_renewals(db.session)
        db.session.commit()
    click.echo(f"{sent} renewal reminder(s) sent.")


@contracts_group.command("po")
@click.argument("account_ref", metavar="ACCOUNT")
@click.argument("number")
@click.argument("amount")
@click.option("--currency", default=None, help="ISO 4217 code (default: the account's).")
@click.option("--issued", "issued_on", default=None, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default: today).")
@click.option("--valid-until", default=None, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD (default: open).")
@click.option("--contract", "contract_number", default=None, help="The contract it is for, by number.")
@click.option("--description", default=None)
@click.option("--as", "admin_email", default=None, metavar="EMAIL",
              help="The administrator who records it, as the audit log names them (default: the only active one).")
def contracts_po(account_ref, number, amount, currency, issued_on, valid_until, contract_number, description,
                 admin_email) -> None:
    """Add a purchase order to an account's register (ACCOUNT: its id or legal name in
    any language), or correct the one of that NUMBER; invoices draw it down by number."""
    from decimal import Decimal, InvalidOperation

    from portal.domain import DomainError
    from portal.models import Contract, PurchaseOrder
    from portal.onboarding.service import PurchaseOrderDetails, save_purchase_order

    with unscoped():
        account = _account_ref(account_ref)
        if account is None:
            raise click.BadParameter(f"no account with the id or name {account_ref!r}", param_hint="ACCOUNT")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            raise click.BadParameter(f"{amount!r} is not an amount such as 25000.00", param_hint="AMOUNT") from None
        given = {"number": number, "amount": value, "currency": currency, "description": description,
                 "issued_on": issued_on.date() if issued_on else None,
                 "valid_until": valid_until.date() if valid_until else None}
        if contract_number:
            given["contract_id"] = db.session.scalar(sa.select(Contract.id).where(
                Contract.account_id == account.id, Contract.number == contract_number))
            if given["contract_id"] is None:
                raise click.BadParameter(f"{account.name} has no contract {contract_number}", param_hint="--contract")
        order = db.session.scalar(sa.select(PurchaseOrder).where(
            PurchaseOrder.account_id == account.id, PurchaseOrder.number == number.strip()))
        # As the API's POST and PATCH: what is given, over the PO as it is (or a new one's defaults).
        base = (PurchaseOrderDetails.of(order) if order else
                PurchaseOrderDetails(number="", amount=value, currency=account.currency, issued_on=account.today()))
        details = base.changed(**{name: v for name, v in given.items() if v is not None})
        try:
            saved = save_purchase_order(db.session, account, _importing_admin(admin_email), details, order)
        except DomainError as error:
            for field, message in (error.fields or {"": str(error.message)}).items():
                click.echo(f"{field}: {message}" if field else message, err=True)
            sys.exit(2)
        db.session.commit()
    click.echo(f"{'Corrected' if order else 'Added'} PO {saved.number} of {account.name}: "
               f"{saved.amount} {saved.currency}.")


credits_group = AppGroup("credits", help="Service credits of SLA breaches.")


@credits_group.command("propose")
@click.option("--period", required=True, help="The month, YYYY-MM.")
def credits_propose(period: str) -> None:
    """Propose the month's service credits of every SLA KPI that missed its target
    (idempotent: proposed credits are computed again, decided ones left alone)."""
    from portal.credits.service import propose
    from portal.kpis.service import parse_period

    month = parse_period(period)
    if month is None:
        raise click.BadParameter("give the month as YYYY-MM", param_hint="--period")
    with unscoped():
        result = propose(db.session, month)
        db.session.commit()
    click.echo(f"{period}: {result.proposed} proposed, {result.recomputed} computed again, "
               f"{result.dropped} dropped, {result.decided} already decided.")


mail_group = AppGroup("mail", help="The e-mail outbox.")


@mail_group.command("send")
@click.option("--loop", is_flag=True, help="Keep sending, every --interval seconds, until stopped.")
@click.option("--interval", default=30, show_default=True, help="Seconds between rounds with --loop.")
def mail_send(loop: bool, interval: int) -> None:
    """Send the notifications that are due (SMTP when MAIL_SERVER is set, else the log)."""
    import time

    from portal.notifications import send_due

    with unscoped():
        while True:
            sent, failed = send_due(db.session)
            click.echo(f"{sent} sent, {failed} failed (will retry).")
            if not loop:
                return
            time.sleep(interval)


import_group = AppGroup("import", help="Import data from the billing system, KPI sources and operations systems, "
                                         "and new client accounts.")


@import_group.command("invoices")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_invoices(file: str) -> None:
    """Upsert invoices and credit notes from a CSV file or an Excel workbook (format in
    the README): all or nothing per file; a bad row is named by its line and field."""
    from portal.billing.imports import run_invoice_import

    with unscoped():
        run_invoice_import(db.session, file)


@import_group.command("kpis")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_kpis(file: str) -> None:
    """Upsert monthly KPI actuals from a CSV file (format in the README): all or
    nothing per file; a bad row is named by its line and field."""
    from portal.kpis.imports import run_kpi_import

    with unscoped():
        run_kpi_import(db.session, file)


@import_group.command("volumes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_volumes(file: str) -> None:
    """Upsert the monthly actual volumes of the contracts' scope lines from a CSV file or
    an Excel workbook (format in the README): all or nothing per file; a bad row is named
    by its line and column."""
    from portal.volumes.imports import run_volume_import

    with unscoped():
        run_volume_import(db.session, file)


@import_group.command("accounts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "admin_email", default=None, metavar="EMAIL",
              help="The administrator who creates them, as the audit log records it (default: the only active one).")
def import_accounts(file: str, admin_email: str | None) -> None:
    """Create client accounts with their contracts and scope lines from a CSV or Excel
    (.xlsx) file (format in the README): all or nothing per file; a bad row is named by
    its line and column. Accounts and contract numbers the portal has are refused."""
    from portal.onboarding.imports import run_account_import

    with unscoped():
        run_account_import(db.session, file, _importing_admin(admin_email))


def _importing_admin(email: str | None) -> User:
    """The active administrator ``email``, or without one the only active administrator:
    the audit log names who created each account, and the command has no signed-in user."""
    admins = db.session.scalars(sa.select(User).where(User.role == Role.ADMIN, User.active).order_by(User.id)).all()
    if email is not None:
        admin = next((user for user in admins if user.email.lower() == email.strip().lower()), None)
        if admin is None:
            raise click.BadParameter(f"{email} is not an active administrator", param_hint="--as")
        return admin
    if len(admins) != 1:
        raise click.BadParameter("no active administrator exists" if not admins else
                                 f"say which administrator imports: {', '.join(a.email for a in admins)}",
                                 param_hint="--as")
    return admins[0]


@click.command("review-pack")
@click.argument("account_name")
@click.argument("period")
@click.option("--languages", default=None, help="e.g. en+zh (default: the account's document languages).")
@with_appcontext
def review_pack_command(account_name: str, period: str, languages: str | None) -> None:
    """Make and store the monthly service review pack of ACCOUNT (name or id) for PERIOD (YYYY-MM)."""
    from portal.kpis.review_pack import issue, issuer_of_record
    from portal.kpis.service import parse_period

    month = parse_period(period)
    if month is None:
        raise click.BadParameter("use YYYY-MM", param_hint="PERIOD")
    with unscoped():
        account = db.session.scalar(sa.select(Account).where(
            Account.id == int(account_name) if account_name.isdigit() else Account.name == account_name))
        if account is None:
            raise click.BadParameter(f"no account named {account_name!r}", param_hint="ACCOUNT")
        issuer = issuer_of_record(db.session)
        if issuer is None:
            raise click.ClickException("an active administrator must exist to sign the pack as the provider")
        document = issue(db.session, account, month, issuer, languages.split("+") if languages else None)
        db.session.commit()
        click.echo(f"{document.number}: {document.file.size} bytes, sha256 {document.sha256} (document #{document.id}).")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty instead of waiting for more jobs.")
@click.option("--name", default=None, help="The worker's name in Redis (default: host.pid.queue).")
@with_appcontext
def worker_command(burst: bool, name: str | None) -> None:
    """Run the background jobs of the queue JOB_QUEUE on Redis (REDIS_URL); start as many
    as you like, on any machine. Each job runs in a forked process; Ctrl-C or SIGTERM
    lets the current job finish first. LibreOffice is started first (unless
    DOCGEN_PDF=soffice), so that the jobs' PDF conversions find it warm."""
    from flask import current_app

    import docgen.pdf
    from portal.jobs.backends import make_worker

    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis the jobs run in the web process, "
                                   "and no worker is needed.")
    worker = make_worker(current_app._get_current_object(), name=name)
    # Each job's forked process converts on this process's warm LibreOffice (docgen.pdf):
    # started now (~5 s), the first document's PDF is as quick as the next (~0.2 s).
    docgen.pdf.warm_up()
    worker.work(burst=burst, with_scheduler=True, logging_level="INFO")


@click.command("scheduler")
@click.option("--interval", default=15.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds between rounds.")
@click.option("--once", is_flag=True, help="One round, then exit.")
@with_appcontext
def scheduler_command(interval: float, once: bool) -> None:
    """Ask for the periodic jobs as they fall due: the SLA check every 5 minutes, the mail
    outbox every minute, the renewal reminders daily and the review packs monthly on
    REVIEW_PACK_DAY. Any number may run: each period is asked for once. Also hands over
    again queued jobs that were never handed over, and deletes old finished ones."""
    from flask import current_app

    from portal.jobs.schedule import run_scheduler

    run_scheduler(current_app._get_current_object(), interval, once=once)
