"""Plain helpers that several test modules call: signing in a browser, reading what the
app committed, the API's error shape, and small counts and lookups.

Fixtures live in ``conftest.py`` and data builders in ``factories.py``; these are the
functions a test calls itself, kept here once rather than copied into each module.
"""

from __future__ import annotations


def signed_in(new_browser, email: str, **login):
    """A browser of its own, signed in as ``email`` through the form (``login``:
    ``remember``, ``password``, ``next_url`` as ``Browser.login`` takes them)."""
    browser = new_browser()
    assert browser.login(email, **login).status_code == 302
    return browser


def latest(session):
    """``session`` in a new transaction, to read what the requests or a command committed
    (on SQLite in WAL mode a transaction keeps reading the snapshot it began with)."""
    session.rollback()
    return session


def assert_error(response, status: int, code: str | None = None) -> dict:
    """Check that ``response`` is the API's error: ``status``, JSON, a non-empty ``code``
    and ``message`` (and ``code`` the one given); return the error for further checks."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code
    return error


def post(client, url, headers, body=None, **extra_headers):
    """POST ``body`` (default ``{}``) as JSON to the API with ``headers`` and any more given."""
    return client.post(url, json=body if body is not None else {}, headers={**headers, **extra_headers})
