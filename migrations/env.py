"""Alembic environment, run through Flask-Migrate (``flask --app wsgi db ...``)."""

import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

from portal.models import Base

config = context.config
if config.config_file_name and config.get_section("loggers"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_metadata = Base.metadata


def render_item(type_, obj, autogen_context):
    """Render the portal's column types by their import path, not their impl."""
    if type_ == "type" and obj.__class__.__module__ == "portal.models.base":
        autogen_context.imports.add("import portal.models.base")
        return f"portal.models.base.{obj!r}"
    return False


def run_migrations_online():
    def skip_empty(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    # Migrations run as the schema's owner when DATABASE_OWNER_URL names it; the app's own
    # role (DATABASE_URL) may not create tables nor alter the audit log.
    owner_url = current_app.config.get("DATABASE_OWNER_URL")
    engine = (sa.create_engine(owner_url, poolclass=sa.pool.NullPool) if owner_url
              else current_app.extensions["migrate"].db.engine)
    options = dict(current_app.extensions["migrate"].configure_args)
    options.setdefault("process_revision_directives", skip_empty)
    options.update(
        compare_type=True,
        render_item=render_item,
        render_as_batch=engine.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            **options,
        )
        with context.begin_transaction():
            context.run_migrations()
    if owner_url:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (SQL script) migrations are not supported; run `flask --app wsgi db upgrade`.")
run_migrations_online()
