"""Sign-in: forms and routes in ``routes``, the rules in ``service``."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from portal.extensions import db


def init_app(app: Flask, login_manager: LoginManager) -> None:
    from portal.auth import service, throttle

    throttle.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.refresh_view = "auth.reauthenticate"
    login_manager.needs_refresh_message = _l("Please confirm your password to continue.")
    login_manager.needs_refresh_message_category = "info"
    # Flask-Login's session-protection identifier trusts X-Forwarded-For; the
    # server-side session record is what ends sessions here.
    login_manager.session_protection = None

    @login_manager.user_loader
    def load_user(token: str):
        user, touched = service.load_session_user(db.session, token)
        if touched:
            try:
                db.session.commit()
            except sa.exc.OperationalError:  # bookkeeping only: never fail a page for it
                db.session.rollback()
        return user
