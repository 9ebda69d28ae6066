"""The client portal: ``create_app`` builds a configured Flask application."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import INSTANCE, ROOT, load_config


def create_app(config: dict | None = None) -> Flask:
    """Create the app. ``config`` overrides what the environment says (tests use it)."""
    app = Flask(__name__, instance_path=str(INSTANCE))
    app.config.from_mapping(load_config(**(config or {})))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    proxies = {k: app.config[f"PROXY_FIX_{k.upper()}"] for k in ("x_for", "x_proto", "x_host")}
    if any(proxies.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **proxies)

    from portal import database, edge, errors, i18n, jobs, observe, security, web
    from portal.extensions import babel, csrf, db, login_manager, migrate
    
    observe.init_app(app)  # first: every answer, even one refused at the edge, has a request id
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    security.init_app(app)

    from portal.auth import init_app as init_auth

    init_auth(app, login_manager)
    i18n.init_app(app)
    errors.init_app(app)
    edge.init_app(app)
    web.init_app(app)
    jobs.init_app(app)

    from portal.admin.routes import bp as admin_bp
    from portal.api import bp as api_bp
    from portal.auth.routes import bp as auth_bp
    from portal.actions.routes import bp as actions_bp
    from portal.billing.routes import bp as billing_bp
    from portal.billing.upload import bp as invoice_import_bp
    from portal.kpis.routes import bp as scorecards_bp
    from portal.change_requests.routes import bp as change_requests_bp
    from portal.credits.routes import bp as credits_bp
    from portal.pipeline.routes import bp as pipeline_bp
    from portal.documents.routes import bp as documents_bp
    from portal.jobs.routes import bp as jobs_bp
    from portal.main.routes import bp as main_bp
    from portal.notifications.routes import bp as notifications_bp
    from portal.onboarding.upload import bp as account_import_bp
    from portal.onboarding.routes import bp as onboarding_bp
    from portal.meetings.routes import bp as meetings_bp
    from portal.people.routes import bp as people_bp
    from portal.plans.routes import bp as plans_bp
    from portal.search.routes import bp as search_bp
    from portal.service_requests.routes import bp as requests_bp
    from portal.users.routes import bp as users_bp
    from portal.volumes.routes import bp as volumes_bp
    from portal.portfolio.routes import bp as portfolio_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(main_bp)
    app.register_blueprint(account_import_bp)
    app.register_blueprint(requests_bp, url_prefix="/requests")
    app.register_blueprint(change_requests_bp)
    app.register_blueprint(documents_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(invoice_import_bp)
    app.register_blueprint(scorecards_bp)
    app.register_blueprint(credits_bp)
    app.register_blueprint(pipeline_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(volumes_bp)
    app.register_blueprint(portfolio_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    csrf.exempt(api_bp)  # the API takes bearer tokens only, never the session cookie

    from portal.cli import register as register_cli

    register_cli(app)
    return app
