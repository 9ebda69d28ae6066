"""Configuration from the environment.

``PORTAL_ENV`` is ``production`` unless told otherwise (the repo's ``.flaskenv`` sets
``development`` for the ``flask`` command); production refuses to start without a
``SECRET_KEY`` or an ``AUDIT_HMAC_KEY``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable portal."""


def _list(value: str | None, default: list[str] | None) -> list[str] | None:
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _texts(value: str | None, default: dict[str, str]) -> dict[str, str] | str:
    """Text per language: a JSON object (``{"en": "Hanoi", "vi": "Hà Nội"}``) or one
    plain text for every language."""
    if value is None:
        return default
    if value.lstrip().startswith("{"):
        try:
            texts = json.loads(value)
        except ValueError as error:
            raise ConfigError(f"not a JSON object of texts per language: {value!r}") from error
        if not isinstance(texts, dict) or not all(isinstance(text, str) for text in texts.values()):
            raise ConfigError(f"not a JSON object of texts per language: {value!r}")
        return texts
    return value


def _seconds(value: str) -> list[int]:
    try:
        seconds = [int(item) for item in _list(value, []) or []]
    except ValueError:
        raise ConfigError(f"JOB_RETRY_INTERVALS must be whole seconds separated by commas, not {value!r}") from None
    if any(s < 0 for s in seconds):
        raise ConfigError("JOB_RETRY_INTERVALS may not be negative")
    return seconds


def _day_of_month(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 28:
        raise ConfigError(f"REVIEW_PACK_DAY must be a day from 1 to 28 (every month has it), not {value!r}")
    return int(value)


def _with_driver(url: str) -> str:
    if url.startswith("postgres://"):  # Heroku-style URLs name no driver
        return "postgresql+psycopg://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _development_secret(name: str) -> str:
    # Kept in instance/ so that restarts and several dev workers agree on it.
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _bank_details(value: str) -> dict[str, dict]:
    """``BANK_DETAILS``: a JSON object of bank details by ISO currency code, each as
    docgen's invoice takes them (``account_name``, ``bank_name``, ``account_number``,
    optional ``branch``, ``bank_address``, ``swift``, ``iban``; names as text or per
    language). Checked here, so that a mistake stops the start instead of an invoice."""
    if not value.strip():
        return {}
    import pydantic

    from docgen.kinds.invoice import BankDetails

    try:
        details = json.loads(value)
    except json.JSONDecodeError as error:
        raise ConfigError(f"BANK_DETAILS is not valid JSON: {error}") from None
    if not isinstance(details, dict):
        raise ConfigError('BANK_DETAILS must be a JSON object by currency: {"USD": {...}, "CNY": {...}}')
    for currency, bank in details.items():
        if not re.fullmatch(r"[A-Z]{3}", currency):
            raise ConfigError(f"BANK_DETAILS: {currency!r} is not an ISO 4217 currency code such as USD")
        try:
            BankDetails.model_validate(bank)
        except pydantic.ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or currency}: {e['msg']}" for e in error.errors())
            raise ConfigError(f"BANK_DETAILS {currency}: {problems}") from None
    return details


MIN_AUDIT_KEY_LENGTH = 32


def _audit_keys(env: dict[str, str], overrides: dict, portal_env: str) -> tuple[str, list[str]]:
    """The key that signs new audit chain links, and the older keys that still verify
    the links they signed (rotation: see the README)."""
    key = overrides.get("AUDIT_HMAC_KEY") or env.get("AUDIT_HMAC_KEY")
    fallbacks = overrides.get("AUDIT_HMAC_KEY_FALLBACKS")
    if fallbacks is None:
        fallbacks = _list(env.get("AUDIT_HMAC_KEY_FALLBACKS"), [])
    if not key:
        if portal_env == "production":
            raise ConfigError("AUDIT_HMAC_KEY must be set in production (PORTAL_ENV=production).")
        key = _development_secret("audit_hmac_key") if portal_env == "development" else "testing-audit-hmac-key-" + "0" * 16
    if portal_env == "production" and min(map(len, [key, *fallbacks])) < MIN_AUDIT_KEY_LENGTH:
        raise ConfigError(f"AUDIT_HMAC_KEY and AUDIT_HMAC_KEY_FALLBACKS must each be at least "
                          f"{MIN_AUDIT_KEY_LENGTH} characters (python -c 'import secrets; print(secrets.token_urlsafe(32))').")
    return key, list(fallbacks)


def load_config(env: dict[str, str] | None = None, **overrides) -> dict:
    """Build the Flask config mapping from ``env`` (default ``os.environ``) and overrides."""
    env = dict(os.environ if env is None else env)
    portal_env = overrides.pop("PORTAL_ENV", None) or env.get("PORTAL_ENV", "production")
    if portal_env not in ("production", "development", "testing"):
        raise ConfigError(f"PORTAL_ENV must be production, development or testing, not {portal_env!r}")
    production = portal_env == "production"

    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production (PORTAL_ENV=production).")
        secret = _development_secret("secret_key") if portal_env == "development" else "testing-secret-key"
    audit_key, audit_fallbacks = _audit_keys(env, overrides, portal_env)

    database_url = _with_driver(env.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'portal.db'}")
    owner_url = env.get("DATABASE_OWNER_URL")

    redis_url = env.get("REDIS_URL")
    config = {
        "PORTAL_ENV": portal_env,
        # Where e-mails link to.
        "PORTAL_URL": env.get("PORTAL_URL", "http://127.0.0.1:5000").rstrip("/"),
        "TESTING": portal_env == "testing",
        "SECRET_KEY": secret,
        # Key the audit chain's HMACs (portal/audit.py); never stored in the database.
        "AUDIT_HMAC_KEY": audit_key,
        "AUDIT_HMAC_KEY_FALLBACKS": audit_fallbacks,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # The role that owns the schema, for `flask db upgrade` (migrations/env.py); the app
        # itself connects with DATABASE_URL, as a role that may not alter the audit log.
        "DATABASE_OWNER_URL": _with_driver(owner_url) if owner_url else None,
        # No pool_pre_ping: portal.database pings the connections that sat idle.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # Five 10 MB attachments and the rest of the form; beyond it, 413 before reading.
        "MAX_CONTENT_LENGTH": 51 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 2 * 1024 * 1024,
        # Rendered invoice lists each worker keeps in memory (portal/fragments.py); 0: none.
        "INVOICE_LIST_CACHE_SIZE": int(env.get("INVOICE_LIST_CACHE_SIZE", "512")),
        "TRUSTED_HOSTS": _list(env.get("TRUSTED_HOSTS"), None if production else ["localhost", "127.0.0.1", "[::1]"]),
        # Number of proxies in front of the app whose X-Forwarded-* headers are trusted.
        "PROXY_FIX_X_FOR": int(env.get("PROXY_FIX_X_FOR", "0")),
        "PROXY_FIX_X_PROTO": int(env.get("PROXY_FIX_X_PROTO", "0")),
        "PROXY_FIX_X_HOST": int(env.get("PROXY_FIX_X_HOST", "0")),
        # Cookies
        "SESSION_COOKIE_NAME": "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_NAME": "portal_remember",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_REFRESH_EACH_REQUEST": False,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # Server-side session records
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=int(env.get("SESSION_IDLE_MINUTES", "120"))),
        "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
        "SESSION_REMEMBER_LIFETIME": timedelta(days=30),
        "API_TOKEN_LIFETIME": timedelta(hours=int(env.get("API_TOKEN_HOURS", "12"))),
        # A decision through the API needs a token minted this recently, or the password.
        "FRESH_SIGN_IN": timedelta(minutes=int(env.get("FRESH_SIGN_IN_MINUTES", "15"))),
        # Sign-in throttling: failures per e-mail and per client address.
        "LOGIN_FAILURES_PER_ACCOUNT": env.get("LOGIN_FAILURES_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_FAILURES_PER_ADDRESS": env.get("LOGIN_FAILURES_PER_ADDRESS", "50 per 15 minutes"),
        # "Forgot your password?": requests per e-mail and per client address (known or not).
        "PASSWORD_RESETS_PER_ACCOUNT": env.get("PASSWORD_RESETS_PER_ACCOUNT", "5 per hour"),
        "PASSWORD_RESETS_PER_ADDRESS": env.get("PASSWORD_RESETS_PER_ADDRESS", "20 per hour"),
        # How long the one-time links e-mailed to users work.
        "INVITATION_LIFETIME": timedelta(hours=int(env.get("INVITATION_HOURS", "72"))),
        "PASSWORD_RESET_LIFETIME": timedelta(minutes=int(env.get("PASSWORD_RESET_MINUTES", "60"))),
        # The name authenticator apps show beside the user's e-mail.
        "TWO_FACTOR_ISSUER": env.get("TWO_FACTOR_ISSUER", "Meridian Client Portal"),
        # Observation (portal/observe.py): JSON log lines, one per request, and /metrics.
        "LOG_FORMAT": env.get("LOG_FORMAT", "text"),
        "LOG_REQUESTS": env.get("LOG_REQUESTS", "1" if env.get("LOG_FORMAT") == "json" else "0") == "1",
        "METRICS_ENABLED": env.get("METRICS_ENABLED", "0") == "1",
        "METRICS_TOKEN": env.get("METRICS_TOKEN") or None,
        # Prefix of the portal's keys in Redis (charts), for portals that share one Redis.
        "CACHE_KEY_PREFIX": env.get("CACHE_KEY_PREFIX", "portal"),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "REDIS_URL": redis_url,
        # Background jobs (portal/jobs): RQ's queue when REDIS_URL is set; the waits before
        # each retry of a failed job (one retry per wait, none when empty); how often a
        # worker beats while it works (three missed beats: the job is retried elsewhere);
        # how long finished jobs are kept; the day of the month the review packs are made.
        "JOB_QUEUE": env.get("JOB_QUEUE", "portal"),
        "JOB_RETRY_INTERVALS": _seconds(env.get("JOB_RETRY_INTERVALS", "10,60,300")),
        "JOB_HEARTBEAT_SECONDS": int(env.get("JOB_HEARTBEAT_SECONDS", "10")),
        "JOB_KEEP_DAYS": int(env.get("JOB_KEEP_DAYS", "30")),
        # How long an Idempotency-Key's answer is kept for a retry (then deleted).
        "IDEMPOTENCY_KEY_HOURS": int(env.get("IDEMPOTENCY_KEY_HOURS", "24")),
        "REVIEW_PACK_DAY": _day_of_month(env.get("REVIEW_PACK_DAY", "5")),
        # Issuing a document asks for its PDF at once (a document_pdf job), so that it is
        # usually ready when someone wants it; 0: only when asked for (workers without
        # LibreOffice, say).
        "DOCUMENT_PDF_ON_ISSUE": env.get("DOCUMENT_PDF_ON_ISSUE", "1") == "1",
        # Password hashing (argon2id); tests lower the cost.
        "ARGON2_TIME_COST": int(env.get("ARGON2_TIME_COST", "3")),
        "ARGON2_MEMORY_COST": int(env.get("ARGON2_MEMORY_COST", str(64 * 1024))),
        "ARGON2_PARALLELISM": int(env.get("ARGON2_PARALLELISM", "4")),
        # i18n
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "translations"),
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "WTF_CSRF_SSL_STRICT": True,
        # The firm, as documents name it
        # The firm's name: one name, or a JSON object of names per language (the footer
        # and the documents of each language show its own).
        "FIRM_NAME": _texts(env.get("FIRM_NAME"), {"en": "Meridian Business Services Ltd",
                                                   "zh": "美瑞迪安商务服务有限公司",
                                                   "vi": "Meridian Business Services Ltd"}),
        "FIRM_ADDRESS": env.get("FIRM_ADDRESS", "1 Raffles Place, #20-01, Singapore 048616"),
        # The city documents are made in (the Vietnamese place and date line names it):
        # one name, or a JSON object of names per language.
        "FIRM_CITY": _texts(env.get("FIRM_CITY"), {"en": "Singapore", "zh": "新加坡", "vi": "Singapore"}),
        "FIRM_TAX_ID": env.get("FIRM_TAX_ID", ""),
        # Where clients pay, per invoice currency, as invoices print it (see the README).
        "BANK_DETAILS": _bank_details(env.get("BANK_DETAILS", "")),
        # Mail
        "MAIL_SERVER": env.get("MAIL_SERVER"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_USE_TLS": env.get("MAIL_USE_TLS", "1") == "1",
        "MAIL_SENDER": env.get("MAIL_SENDER", "portal@meridian.example"),
    }
    config.update(overrides)
    return config
