"""Language and time zone of the current user, and the formatting filters of the UI.

The UI follows the user's setting; before sign-in, the language chosen with the
switcher, else the browser's Accept-Language (zh-CN, zh-Hans → zh), else English.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import available_timezones

import jinja2
from babel import Locale
from babel.dates import format_date as babel_format_date, get_month_names, get_timezone_location
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import (
    Domain,
    LazyString,
    format_datetime,
    format_decimal,
    format_percent,
    format_time,
    get_locale,
    get_timezone,
    get_translations,
)
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_login import current_user

LANGUAGE_NAMES = {"en": "English", "zh": "中文", "vi": "Tiếng Việt"}

# The locales a user may choose (``User.locale``), each named in its own language: the UI
# speaks the language before the hyphen, dates and times follow the region (an en-GB
# reader sees 5 December 2026, 14:30; an en-US one December 5, 2026, 2:30 PM).
LOCALE_NAMES = {"en-US": "English (United States)", "en-GB": "English (United Kingdom)", "zh": "中文",
                "vi": "Tiếng Việt"}

# Babel locales the documents and the UI format numbers and dates with.
BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN", "vi": "vi_VN"}


@functools.lru_cache(maxsize=64)
def normalise_language(value: str | None) -> str | None:
    if not value:
        return None
    primary = value.replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGE_NAMES else None


def locale_tag(value: str | None) -> str | None:
    """A locale as ``LOCALE_NAMES`` knows it (``en-gb``, ``en_GB`` → ``en-GB``), else None."""
    if not value:
        return None
    language, _, region = value.replace("_", "-").partition("-")
    tag = f"{language.lower()}-{region.upper()}" if region else language.lower()
    return tag if tag in LOCALE_NAMES else None


def locale_of(language: str | None, locale: str | None = None) -> str:
    """The Babel locale pages are formatted in for a reader of ``language`` who chose
    ``locale``: that locale when it is a form of the language (en-GB → ``en_GB``), else
    the language's own (``en``, ``zh``, ``vi``). A choice left from another language
    (en-GB, then Chinese from the header) waits until the reader is back to English."""
    language = normalise_language(language) or "en"
    tag = locale_tag(locale)
    if tag and normalise_language(tag) == language:
        return tag.replace("-", "_")
    return language


def regional_locale(language: str | None, locale: str | None) -> str | None:
    """What ``User.locale`` keeps for a reader of ``language`` choosing ``locale``: a
    regional form of that language (``en-GB``, ``en-US``), else None (the language's own)."""
    tag = locale_tag(locale)
    return tag if tag and "-" in tag and normalise_language(tag) == normalise_language(language) else None


def locale_choice(language: str | None, locale: str | None = None) -> str:
    """Which of ``LOCALE_NAMES`` a reader of ``language`` with ``locale`` has chosen
    (English without a choice: en-US), for the settings page's select."""
    effective = locale_of(language, locale).replace("_", "-")
    return {"en": "en-US"}.get(effective, effective)


def select_locale() -> str:
    if not has_request_context():
        return "en"
    if current_user.is_authenticated:
        return locale_of(current_user.language, current_user.locale)
    chosen = normalise_language(session.get("language"))
    if chosen:
        return chosen
    for value, _quality in request.accept_languages:
        lang = normalise_language(value)
        if lang:
            return locale_of(lang, value)
    return "en"


def select_timezone() -> str:
    if has_request_context() and current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def current_locale() -> str:
    """The Babel locale of the text being written (``zh``, ``vi``, ``en``)."""
    return str(get_locale())


def current_language() -> str:
    """The language text is being written in: the UI's, or a recipient's inside
    ``force_locale`` (so it is not cached per request)."""
    return normalise_language(str(get_locale())) or "en"


def locale_for_language(language: str) -> str:
    """The locale to write ``language`` in: the reader's own where they read that
    language (an en-GB reader's English), else the language's."""
    locale = current_locale()
    return locale if normalise_language(locale) == language else language


def is_valid_timezone(name: str) -> bool:
    return name in _timezones()


def _timezones() -> frozenset[str]:
    global _TZ_CACHE
    if _TZ_CACHE is None:
        _TZ_CACHE = frozenset(available_timezones())
    return _TZ_CACHE


_TZ_CACHE: frozenset[str] | None = None

COMMON_TIMEZONES = (
    "Asia/Shanghai",
    "Asia/Ho_Chi_Minh",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Tokyo",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "UTC",
)

# Zones that are UTC itself, which CLDR names only as "Coordinated Universal Time".
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})


def timezone_name(zone: str, locale: str | None = None) -> str:
    """A time zone as the reader's locale names it, by its country and city where it has
    several: China (Shanghai) Time, 中国（上海）时间, Giờ Việt Nam, 协调世界时. The IANA id
    (``Asia/Shanghai``) is for forms and the API, never for reading."""
    return _timezone_name(zone, locale or current_locale())


@functools.lru_cache(maxsize=512)
def _timezone_name(zone: str, locale: str) -> str:
    if zone in _UTC_ZONES:
        return Locale.parse(locale).time_zones["Etc/UTC"]["long"]["standard"]
    try:
        return get_timezone_location(zone, locale=locale)
    except LookupError:  # a zone Babel does not know: its id is the best name there is
        return zone


def timezone_choices(chosen: str | None = None, *, blank: bool = False) -> list:
    """The choices of a time zone field: the common zones (and ``chosen``, a user's or an
    account's own) by their names in the reader's language, the IANA id as the value,
    sorted by name. ``blank``: a "—" first, for a form that may leave it empty."""
    from portal.forms import choices

    zones = dict.fromkeys([*COMMON_TIMEZONES, *([chosen] if chosen else [])])
    named = sorted(((zone, LazyString(timezone_name, zone)) for zone in zones), key=lambda pair: str(pair[1]))
    return choices([("", "—")] * blank + named)


def money(amount: Decimal | None, currency: str, lang: str | None = None) -> str:
    """An amount in the UI's locale with the currency's own decimals (VND: none).
    Long lists pass ``lang`` (``current_language()``, looked up once)."""
    if amount is None:
        return ""
    from docgen.formatting import format_money

    return format_money(amount, currency, lang or current_language())


# CLDR's short names of the two special administrative regions, which Babel leaves out
# for the long ones ("中国香港特别行政区", "Đặc khu Hành chính Hồng Kông, Trung Quốc"):
# a list's column and a form's menu name them as a reader would.
SHORT_TERRITORIES = {"HK": {"en": "Hong Kong", "zh": "香港", "vi": "Hồng Kông"},
                     "MO": {"en": "Macao", "zh": "澳门", "vi": "Ma Cao"}}


def countries() -> dict[str, str]:
    """Every country's name by its ISO 3166 code, in the UI's language."""
    return _countries(str(get_locale()))


@functools.lru_cache(maxsize=8)
def _countries(locale: str) -> dict[str, str]:
    language = normalise_language(locale) or "en"
    names = dict(Locale.parse(locale).territories)
    names.update({code: short[language] for code, short in SHORT_TERRITORIES.items()})
    return names


def country(code: str | None) -> str:
    """A country, kept as its ISO 3166 code, by its name in the UI's language (CN:
    China, 中国, Trung Quốc)."""
    if not code:
        return ""
    return countries().get(code.upper(), code)


def country_code(name: str) -> str | None:
    """The ISO 3166 code of the country with this name in the UI's language (``越南``,
    ``Việt Nam``: VN), as ``country`` names it; None for a name of no country."""
    wanted = name.strip().casefold()
    return next((code for code, known in countries().items()
                 if len(code) == 2 and code.isalpha() and known.casefold() == wanted), None)


def number(value: Decimal | int | None) -> str:
    """A quantity or KPI value in the UI's locale, without trailing zeros."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.####")


def percent(value: Decimal | None) -> str:
    """A ratio (0.8125) as a percentage in the UI's locale, one decimal (81.3%)."""
    if value is None:
        return ""
    return format_percent(value, "#,##0.0%")


def unit(code: str | None) -> str:
    """A unit of measure (a code such as "user-month") in the UI's language."""
    from docgen.units import unit_label

    return unit_label(code or "", current_language())


@functools.lru_cache(maxsize=16)
def date_formats(locale: str) -> dict[str, str]:
    """The one way a locale writes each of a date, a date with its time, a month and a
    month in figures, on every page and in every e-mail: Babel's styles differ within a
    locale (Vietnamese "1 thg 2, 2027" in one, "1 tháng 2, 2027" in another), so the
    helpers below take these patterns, never a style of their own.

    en-US: February 1, 2027 · February 1, 2027, 2:05 PM · February 2027 · 2/2027
    en-GB: 1 February 2027 · 1 February 2027, 14:05 · February 2027 · 02/2027
    zh:    2027年2月1日 · 2027年2月1日 14:05 · 2027年2月 · 2027年2月
    vi:    1 tháng 2, 2027 · 14:05 1 tháng 2, 2027 · tháng 2 năm 2027 · 2/2027
    """
    parsed = Locale.parse(locale)
    written, time = parsed.date_formats["long"].pattern, parsed.time_formats["short"].pattern
    combined = str(parsed.datetime_formats["medium"])
    numeric_month = parsed.datetime_skeletons["yMMMM" if parsed.language == "zh" else "yM"].pattern
    return {"date": written, "datetime": combined.replace("{1}", written).replace("{0}", time),
            "month": parsed.datetime_skeletons["yMMMM"].pattern, "month_numeric": numeric_month,
            # Where a date and a time go together ("{1}, {0}"; Vietnamese "{0} {1}"), and
            # the time alone: a span of one day writes its date once (``when_range``).
            "time": time, "joined": combined}


def when(value: datetime | None, _style: str | None = None) -> str:
    """A UTC time shown in the signed-in user's time zone, as their locale writes a date
    with its time. (``_style``, "short" or "medium" in older templates, changes
    nothing: a page writes every time one way.)"""
    if value is None:
        return ""
    return format_datetime(value, date_formats(current_locale())["datetime"])


def when_range(start: datetime, end: datetime) -> str:
    """A span of time (a meeting) in the signed-in user's time zone: its date once when it
    starts and ends on that day, as the locale places a date and its time (10 November
    2026, 18:00–19:00; 2026年11月10日 18:00–19:00; 18:00–19:00 10 tháng 11, 2026), else
    both ends in full."""
    zone = get_timezone()
    if start.astimezone(zone).date() != end.astimezone(zone).date():
        return f"{when(start)} – {when(end)}"
    formats = date_formats(current_locale())
    span = f"{format_time(start, formats['time'])}–{format_time(end, formats['time'])}"
    return formats["joined"].replace("{1}", format_datetime(start, formats["date"])).replace("{0}", span)


def month(value: date | None, style: str = "yMMMM", locale: str | None = None) -> str:
    """A month in the locale's own words: October 2026, 2026年10月, tháng 10 năm 2026;
    ``yM``/``yMM``: in figures, for a row of months (10/2026)."""
    if value is None:
        return ""
    locale = locale or current_locale()
    kind = "month_numeric" if style in ("yM", "yMM") else "month"
    return _day(value, date_formats(locale)[kind], locale)


def month_name(number: int) -> str:
    """A month of the year by its name in the UI's language (1: January, 一月, Tháng 1)."""
    return get_month_names("wide", context="stand-alone", locale=get_locale())[number]


def day(value: date | None, _style: str | None = None, locale: str | None = None) -> str:
    """A calendar date (no time zone involved) as the UI's locale writes it. Long lists
    pass ``locale`` (``current_locale()``, looked up once). (``_style``, "short" or
    "long" in older templates, changes nothing: a page writes every date one way.)"""
    if value is None:
        return ""
    locale = locale or current_locale()
    return _day(value, date_formats(locale)["date"], locale)


@functools.lru_cache(maxsize=4096)
def _day(value: date, pattern: str, locale: str) -> str:
    # Lists repeat a few dates (issue and due dates of a billing run) on every row.
    return babel_format_date(value, pattern, locale=locale)


def localized(value, field: str | None = None, language: str | None = None) -> str:
    """Text the firm enters per language, in the reader's language where it exists, else
    in English, else in whichever language there is. The one helper for every such text
    on a page or in an e-mail (the Jinja filter ``localized``):

    * ``localized(text)``: a text per language (``{"en": ..., "zh": ...}``) or one text;
    * ``localized(obj, "title")``: a model's field, either such a text per language
      itself (a change request's title) or the text as written (English as a rule) with
      its translations beside it in ``title_translations`` (an action item's title, a
      document's, a stakeholder's job title)."""
    if field is not None and (value is None or isinstance(value, (dict, str))):
        field, language = None, language or field  # localized(text, "zh"): a text read in a given language
    if field is not None:
        own = getattr(value, field, None)
        translations = getattr(value, f"{field}_translations", None) or {}
        value = {"en": own, **translations} if isinstance(own, str) and own else {**(own or {}), **translations}
    if not value:
        return ""
    if isinstance(value, str):
        return value
    language = language or current_language()
    return value.get(language) or value.get("en") or next((text for text in value.values() if text), "")


def _catalogue():
    """The translations of the locale being written, as Flask-Babel finds them, kept per
    locale: Flask-Babel looks the request's domain, locale and cache up again for each
    of the forty-odd strings of a page. (Catalogues do not change while the process runs;
    ``force_locale`` changes the locale, hence the key.)"""
    locale = get_locale()
    translations = _CATALOGUES.get(locale)
    if translations is None:
        translations = _CATALOGUES[locale] = get_translations()
    return translations


_CATALOGUES: dict = {}
_BOUND: dict = {}


def _bound_gettext() -> dict:
    """Jinja's gettext functions bound to the catalogue of the locale being rendered,
    built once per locale and handed to each template render: a page's thirty strings
    then skip the locale lookup that the installed functions (kept for imported macros,
    which do not see the render's context) repeat for each string."""
    locale = get_locale()
    bound = _BOUND.get(locale)
    if bound is None:
        catalogue = _catalogue()
        builder = jinja2.Environment(extensions=["jinja2.ext.i18n"])
        builder.install_gettext_callables(catalogue.ugettext, catalogue.ungettext, newstyle=True,
                                          pgettext=catalogue.upgettext, npgettext=catalogue.unpgettext)
        bound = _BOUND[locale] = {name: builder.globals[name] for name in ("gettext", "ngettext", "pgettext", "npgettext")}
    return bound


class Catalogs(Domain):
    """The UI's catalogs, read as docgen reads its own (``docgen.i18n.translations``):
    the compiled .mo when it is newer than its .po, else the .po compiled in memory. A
    checkout served without ``make`` (no .mo files: they are not committed) speaks
    Chinese and Vietnamese all the same."""

    def get_translations(self):
        from docgen.i18n import translations

        return translations(normalise_language(str(get_locale())) or "en")


def init_app(app: Flask) -> None:
    app.extensions["babel"].instance.domain_instance = Catalogs()
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.context_processor(_bound_gettext)
    from portal.units import hours
    from portal.user_agents import browser

    app.jinja_env.filters.update(money=money, country=country, number=number, hours=hours, percent=percent, unit=unit, month=month, when=when, when_range=when_range, day=day,
                                 localized=localized, timezone_name=timezone_name, browser=browser)
    app.jinja_env.globals.update(LANGUAGE_NAMES=LANGUAGE_NAMES, current_language=current_language, current_locale=current_locale,
                              label=label)
    app.jinja_env.filters["names"] = names


# Labels for enum values shown in the UI, marked for translation once here.
LABELS = {
    "role": {
        "client_viewer": _l("Client viewer"),
        "client_approver": _l("Client approver"),
        "account_manager": _l("Account manager"),
        "finance": _l("Finance"),
        "regional_reviewer": _l("Regional reviewer"),
        "admin": _l("Administrator"),
    },
    "tier": {"strategic": _l("Strategic"), "key": _l("Key"), "standard": _l("Standard")},
    "priority": {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")},
    "request_status": {
        "open": _l("Open"),
        "in_progress": _l("In progress"),
        "waiting_client": _l("Waiting for client"),
        "resolved": _l("Resolved"),
        "closed": _l("Closed"),
    },
    "category": {
        "billing": _l("Billing enquiry"),
        "service": _l("Service issue"),
        "scope": _l("Scope question"),
        "other": _l("Other"),
    },
    "cr_status": {
        "draft": _l("Draft"),
        "pending_internal_approval": _l("Pending internal approval"),
        "pending_client_approval": _l("Pending client approval"),
        "approved": _l("Approved"),
        "rejected": _l("Rejected"),
        "countered": _l("Counter-proposal"),
        "withdrawn": _l("Withdrawn"),
        "implemented": _l("Implemented"),
    },
    "line_change": {"add": _l("Add"), "remove": _l("Remove"), "modify": _l("Modify")},
    "document_kind": {
        "amendment": _l("Contract amendment"),
        "work_order": _l("Work order"),
        "plan": _l("Business plan"),
        "review_pack": _l("Monthly service review"),
        "invoice": _l("Invoice"),
        "statement": _l("Statement of account"),
        "credit_note": _l("Credit note"),
        "quotation": _l("Quotation"),
    },
    "service_credit_status": {"proposed": _l("Proposed"), "approved": _l("Approved"), "waived": _l("Waived")},
    "opportunity_stage": {
        "identified": _lp("opportunity stage", "Identified"),
        "qualified": _lp("opportunity stage", "Qualified"),
        "proposed": _lp("opportunity stage", "Proposed"),
        "won": _lp("opportunity stage", "Won"),
        "lost": _lp("opportunity stage", "Lost"),
    },
    "opportunity_source": {
        "client_request": _l("A client's scope request"),
        "review": _l("A plan or review"),
        "idea": _l("The account manager's idea"),
    },
    "document_status": {"in_review": _l("In regional review"), "issued": _lp("document status", "Issued")},
    "review_verdict": {"approved": _l("Approved the draft"), "commented": _l("Commented")},
    # A context of their own: "Issued" the status is not "Issued" the date column.
    "invoice_status": {
        "issued": _lp("invoice status", "Issued"),
        "overdue": _lp("invoice status", "Overdue"),
        "paid": _lp("invoice status", "Paid"),
        "disputed": _lp("invoice status", "Disputed"),
        "credited": _lp("invoice status", "Credited"),
        "held": _lp("invoice status", "Held for review"),
    },
    "ageing": {
        "current": _l("Not yet due"),
        "1-30": _l("1-30 days"),
        "31-60": _l("31-60 days"),
        "61-90": _l("61-90 days"),
        "90+": _l("Over 90 days"),
    },
    "rag": {"green": _l("Green"), "amber": _l("Amber"), "red": _l("Red"), "none": _l("No data")},
    "alert_kind": {"kpi_red": _l("a KPI red two months running"), "dso_over_terms": _l("DSO over the payment terms"),
                   "revenue_under_acv": _l("revenue under 90 per cent of the ACV pro rata"), "csat_low": _l("CSAT under 3")},
    "action_status": {"open": _l("Open"), "in_progress": _l("In progress"), "done": _l("Done"), "cancelled": _l("Cancelled")},
    "action_source": {
        "meeting": _l("Meeting"),
        "escalation": _l("Escalation"),
        "kpi": _l("KPI"),
        "review": _l("Review"),
        "feedback": _l("Feedback"),
    },
    "owner_side": {"firm": _l("Service provider"), "client": _l("Client")},
    "decision_role": {
        "decision_maker": _l("Decision maker"),
        "approver": _l("Approver"),
        "influencer": _l("Influencer"),
        "user": _l("User of the services"),
    },
    "interaction_kind": {"meeting": _l("Meeting"), "call": _l("Call"), "email": _l("E-mail")},
    "meeting_kind": {
        "service_review": _l("Monthly service review"),
        "business_review": _l("Quarterly business review"),
        "account_review": _l("Annual account review"),
    },
    "cadence": {"monthly": _l("Monthly"), "quarterly": _l("Quarterly"), "yearly": _l("Yearly")},
    "age": {"0-30": _l("0-30 days"), "31-60": _l("31-60 days"), "60+": _l("Over 60 days")},
    # What the services' field problems ("required", "at most 2000 characters") mean to
    # the person filling in the form (see ``problem``).
    "problem": {
        "required": _l("Required."),
        "not a number": _l("Enter a number."),
        "negative": _l("Cannot be negative."),
        "not a date (YYYY-MM-DD)": _l("Enter a date."),
        "unknown status": _l("Choose a status."),
        "not a KPI of the contract": _l("Choose a KPI of the contract."),
        "out of range": _l("This number is too large."),
        "too many decimals": _l("Too many decimals for this currency."),
        "at most": _l("Too long."),
        "not an e-mail address": _l("Enter a valid e-mail address."),
        "in the future": _l("This date is in the future."),
        # onboarding (accounts, contracts, purchase orders)
        "not a language of the portal": _l("Use English, Chinese or Vietnamese."),
        "choose at least one": _l("Choose at least one."),
        "each one of en, zh, vi": _l("Use English, Chinese or Vietnamese."),
        "at most two": _l("Choose at most two."),
        "required with a title": _l("Give the name with the title."),
        "not an ISO 3166 country code": _l("Choose a country."),
        "not a time zone": _l("Unknown time zone."),
        "not an ISO 4217 currency code": _l("Choose a currency."),
        "a positive amount": _l("Enter an amount of zero or more."),
        "an account with this name exists": _l("An account with this name exists."),
        "a contract with this number exists": _l("A contract with this number exists."),
        "this account has a PO with this number": _l("This account has a PO with this number."),
        "before the start date": _l("This date is before the start date."),
        "after the end date": _l("This date is after the end date."),
        "before the issue date": _l("This date is before the issue date."),
        "a positive number": _l("Enter a number greater than zero."),
        "shorter than the first response": _l("The time to resolve cannot be shorter than the time to the first response."),
        "zero or more": _l("Cannot be negative."),
        "not a scope line of this contract": _l("Not a scope line of this contract."),
        "listed twice": _l("Listed twice."),
        "changed on a signed contract": _l("This contract is signed: its scope changes only by a change request."),
        "a signed contract stays signed": _l("A signed contract stays signed: correct the date instead."),
        "not a contract of this account": _l("Choose a contract of this account."),
        # documents refused before issue (docgen's translation gate and glyph preflight)
        "no translation": _l("No translation in this language."),
        "no font has": _l("A character here cannot be printed: no font of the document has it."),
        # the rest of the services' problems, so that none reaches a form in English
        "1 to 3": _l("Choose a level from 1 to 3."),
        "a plan exists for this period": _l("This account already has a plan for this period."),
        "before creation": _l("This date is before the item was created."),
        "before date_from": _l("This date is before the start date."),
        "does not match the approver's full name": _l("Type your full name as registered."),
        "does not meet the password policy": _l("This password does not meet the password policy."),
        "expected the form": _l("Write the period as FY2027, 2027-Q1 or 2027-03."),
        "invalid": _l("This value is not valid."),
        "more than 60 days after creation": _l("At most 60 days after the item was created."),
        "no contract": _l("This account has no contract yet."),
        "no regional reviewer of": _l("The account's team has no regional reviewer of this language."),
        "no such user": _l("Choose a user of the portal."),
        "not a current line of this contract": _l("Choose a current line of the contract."),
        "not a firm user of this account": _l("Choose someone of the firm who works on this account."),
        "not a parent of this plan": _l("Choose the yearly plan of its year, or the quarterly plan of its quarter."),
        "not a role of the team": _l("Choose account manager, regional reviewer or finance."),
        "not a stakeholder of this account": _l("Choose a stakeholder of this account."),
        "not a user of this account who may own this item": _l("Choose someone who may own this item."),
        "not a KPI of this account": _l("Choose a KPI of this account."),
        "not a firm user who may own an opportunity": _l("Choose one of the firm's account managers."),
        "not a plan of this account": _l("Choose a plan of this account."),
        "above the contract's caps": _l("Above what the contract's caps leave."),
        "not allowed": _l("Choose one of the languages offered."),
        "not the user's role": _l("This is not the user's role."),
        "one of en, zh, vi": _l("Use English, Chinese or Vietnamese."),
        "one of the account's document languages": _l("Choose one of the account's document languages."),
        "own role": _l("You cannot change your own role."),
        "the client signs off instead": _l("The client approves a plan by signing it off."),
        "not an approver of this plan": _l("Your approval is not the one this plan waits for."),
        "total too large": _l("The budget's total is too large."),
        "unknown section": _l("Choose a section of the plan."),
        "wrong code": _l("The code is not correct."),
        "zh or vi, among the account's document languages":
            _l("Choose Chinese or Vietnamese, among the account's document languages."),
        # a change request decided line by line; the client's approval limits
        "a line is missing": _l("Decide every line."),
        "not a line of this version, or given twice": _l("Decide each line once."),
        "a removal cannot be countered": _l("A removal cannot be countered."),
        "same figures as the line": _l("Give another quantity or unit price."),
        "not a client approver of this account": _l("Choose a client approver of this account."),
        "not an amount in": _l("Enter an amount in the account's currency."),
        # governance meetings
        "not a user of this account": _l("Choose a user of this account."),
        "not an https:// link": _l("Enter a link starting with https://."),
    },
    # A context of their own: a contract "Active" is in force, a user "Active" may sign in.
    "contract_state": {
        "upcoming": _lp("contract state", "Not yet started"),
        "active": _lp("contract state", "Active"),
        "ending_soon": _lp("contract state", "Ending soon"),
        "expired": _lp("contract state", "Expired"),
    },
    "escalation_trigger": {
        "client": _l("Escalated by the client"),
        "first_response_breach": _l("First response target missed"),
        "resolution_breach": _l("Resolution target missed"),
    },
}


_label_cache: dict[tuple[str, str, str], str] = {}


def label(kind: str, value) -> str:
    """The translated name of an enum value. Catalogs do not change while the process
    runs, so each (language, kind, value) is translated once: list pages call this for
    every row."""
    value = getattr(value, "value", value)
    key = (current_language(), kind, value)
    text = _label_cache.get(key)
    if text is None:
        text = _label_cache[key] = str(LABELS.get(kind, {}).get(value, value))
    return text


UNKNOWN_PROBLEM = _l("Check this value.")


def problem(text: str, fallback: str = "") -> str:
    """The user's words for a service's field problem; ``fallback`` when there are none,
    else a plain "Check this value." in the user's language: a problem is written for
    programs, with the names of fields (``before start_date``), and never shown as it
    is. A problem may carry its detail after a known start ("too many decimals for
    VND", "at most 2000 characters")."""
    known = LABELS["problem"]
    key = text if text in known else next((k for k in known if str(text).startswith(k)), None)
    return label("problem", key) if key else (fallback or str(UNKNOWN_PROBLEM))


def names(people) -> str:
    """People's names as a list of the UI's language: "Emma Richardson and Li Wei",
    "Emma Richardson和Li Wei", "Emma Richardson và Li Wei"."""
    from babel.lists import format_list

    return format_list([getattr(person, "name", person) for person in people], locale=current_locale())
