"""Hostile input to every field there is: each form field of each page (found by reading
the pages themselves) and each field of each JSON body the OpenAPI document describes
gets NUL, control characters, lone surrogates (JSON only: a form cannot carry one), 100 kB
of text, template syntax, huge, tiny and non-finite numbers, deep JSON and wrong types.
Nothing may answer 5xx, and afterwards every list page and export still answers 200,
whatever was stored. Runs on both databases, as the whole suite does."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from portal.api.common import OPERATIONS
from portal.models import Role
from tests.conftest import Browser, api_token, bearer, csrf_token
from tests.test_access import PATH_OBJECTS, PUBLIC

FORM_VALUES = ["\x00", "a\x1fb", "\x7f\x85", "x" * 100_000, "{{7*7}}<script>", "1e400", "9" * 26, "NaN", "-1",
               "２０２６－１２－０１", ""]
JSON_VALUES = ["\u0000", "\ud800", "x" * 100_000, 1e308, 10**30, -1, True, None, [], {"a": {"b": [1]}},
               "1e400", "9" * 26, "NaN"]
SKIPPED_FIELDS = {"csrf_token", "once"}
# Routes whose forms end the caller's own session or account: fuzzed, they would sign
# the fuzzer out half-way (they take no text anyway).
SKIPPED_ACTIONS = ("/logout", "/admin/users/", "/reauthenticate")
OWN_ACCOUNT = re.compile(r"/account(/|\?|$)")  # the caller's own settings (not /accounts/...)


class _Forms(HTMLParser):
    """The POST forms of a page: their action and, for each field, a value that passes
    (what the page shows, the selected or first option, else one made from the name), so
    that one hostile field at a time reaches past the others' validation."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self._current, self._select = page_url, [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = {"action": attrs.get("action") or self.page_url, "fields": {}}
            self.forms.append(self._current)
        elif self._current is None:
            return
        elif "__index__" in (attrs.get("name") or ""):  # the blank row a script clones, not a field
            return
        elif tag in ("input", "textarea") and attrs.get("name") and attrs.get("type") not in ("submit", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            value = attrs.get("value") or _plausible(attrs["name"])
            self._current["fields"].setdefault(attrs["name"], value)
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
        elif tag == "option" and self._select and attrs.get("value") not in (None, "", "0"):
            fields = self._current["fields"]
            if self._select not in fields or "selected" in attrs:
                fields[self._select] = attrs["value"]

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None


def _plausible(name: str) -> str:
    if "date" in name or name.endswith("due"):
        return "2030-01-01"
    if name.endswith(("quantity", "price", "amount", "target", "weight", "tolerance", "percent", "rating")):
        return "1"
    if "email" in name:
        return "someone@alpha.example"
    if name.endswith("period"):
        return "FY2031"
    return "Fuzz text"


def _forms(html: str, url: str) -> list[dict]:
    parser = _Forms(url)
    parser.feed(html)
    return parser.forms


def _url(rule, world) -> str:
    values = {arg: (world.account if PATH_OBJECTS[arg] == "account" else world[PATH_OBJECTS[arg]]).id
              for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def _pages(app, world) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in PUBLIC or rule.rule.startswith("/api/"):
            continue
        if rule.rule.endswith((".svg", "/download", "/file")) or "/attachments/" in rule.rule:
            continue
        urls.append(_url(rule, world))
    urls.append(f"/change-requests/new?account={world.account.id}")
    urls.append(f"/work-orders/new?account={world.account.id}")
    urls.append(f"/plans/new?account={world.account.id}")
    urls.append(f"/actions/new?account={world.account.id}")
    return urls


def _every_form(app, browser: Browser, world) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for url in _pages(app, world):
        response = browser.get(url)
        if response.status_code != 200 or "text/html" not in response.content_type:
            continue
        for form in _forms(response.text, url):
            fields = {k: v for k, v in form["fields"].items() if k not in SKIPPED_FIELDS}
            if fields and not form["action"].startswith(SKIPPED_ACTIONS) and not OWN_ACCOUNT.match(form["action"]):
                found.setdefault(form["action"].replace("&amp;", "&"), {**form, "fields": fields, "page": url})
    return found


def _lists(app, world, emails) -> dict[tuple[str, str], int]:
    """What every list page and export answers each of ``emails``."""
    statuses = {}
    for email in emails:
        client = app.test_client()
        Browser(client).login(email)
        token = api_token(client, email)
        urls = [rule.rule for rule in app.url_map.iter_rules()
                if not rule.arguments and "GET" in rule.methods and rule.endpoint not in PUBLIC]
        contract = world["contract"].id
        urls += [f"/contracts/{contract}/change-requests?format=csv", f"/contracts/{contract}/change-requests?format=xlsx",
                 "/actions?format=csv&status=all", "/actions?format=xlsx&status=all",
                 f"/invoices/statement?account={world.account.id}&format=xlsx"]
        for url in urls:
            headers = bearer(token) if url.startswith("/api/") else {}
            statuses[email, url] = client.get(url, headers=headers).status_code
    return statuses


def _assert_nothing_broke(before: dict, after: dict) -> None:
    assert not [key for key, status in after.items() if status >= 500]
    # What answered still answers (a redirect may become a page: the account forms fuzzed
    # made accounts, and one account's shortcut became a choice among several).
    broke = {key: (before[key], after[key]) for key in before if (before[key] < 400) != (after[key] < 400)}
    assert not broke, broke
    assert sum(1 for status in after.values() if status == 200) > 30


def test_no_form_field_of_any_page_answers_a_5xx_to_hostile_text(app, session, alpha, admin):
    readers = ["admin@firm.example", alpha.user(Role.CLIENT_APPROVER).email]
    before = _lists(app, alpha, readers)
    admin = Browser(app.test_client())
    admin.login("admin@firm.example")
    client = Browser(app.test_client())
    client.login(alpha.user(Role.CLIENT_APPROVER).email)
    sent, fuzzed = 0, set()
    for browser in (admin, client):
        for action, form in _every_form(app, browser, alpha).items():
            fuzzed.add(action)
            csrf = csrf_token(browser.get(form["page"]).text)
            for name in form["fields"]:
                for value in FORM_VALUES:
                    data = {**form["fields"], name: value, "csrf_token": csrf}
                    response = browser.client.post(action, data=data)
                    assert response.status_code < 500, f"POST {action} with {name}={value[:20]!r}: {response.status_code}"
                    sent += 1
    assert sent > 500, "the pages' forms were found"
    assert any(action.startswith("/accounts/") for action in fuzzed), "the account, contract and people forms too"
    _assert_nothing_broke(before, _lists(app, alpha, readers))


def _api_path(op, world) -> str:
    def value(match):
        return str((world.account if PATH_OBJECTS[match.group(1)] == "account" else world[PATH_OBJECTS[match.group(1)]]).id)

    return "/api/v1" + re.sub(r"\{(\w+)\}", value, op.path)


def test_no_json_field_of_the_openapi_document_answers_a_5xx_to_hostile_values(app, session, alpha, admin):
    readers = ["admin@firm.example", alpha.user(Role.CLIENT_APPROVER).email]
    before = _lists(app, alpha, readers)
    callers = {}
    for email in ("admin@firm.example", alpha.user(Role.CLIENT_APPROVER).email, alpha.user(Role.FINANCE).email):
        callers[email] = bearer(api_token(app.test_client(), email))
    client = app.test_client()
    sent = 0
    for op in OPERATIONS:
        if op.method == "get" or op.body is None:
            continue
        path = _api_path(op, alpha)
        fields = list(op.body.model_json_schema().get("properties", {}))
        for headers in callers.values():
            send = getattr(client, op.method)
            for name in fields:
                for value in JSON_VALUES:
                    body = {"account_id": alpha.account.id, name: value}
                    response = send(path, headers=headers, json=body)
                    assert response.status_code < 500, f"{op.method.upper()} {path} with {name}={str(value)[:20]!r}"
                    sent += 1
            for raw in ("[" * 70 + "]" * 70, '{"a":' * 70 + "1" + "}" * 70, "[1]", '"text"', "{", "\ufeff{}"):
                response = send(path, headers=headers, data=raw.encode(), content_type="application/json")
                assert response.status_code < 500, f"{op.method.upper()} {path} with {raw[:20]!r}"
                sent += 1
    assert sent > 1000
    _assert_nothing_broke(before, _lists(app, alpha, readers))
