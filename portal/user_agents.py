"""The browser and system a session signed in from, as a person reads them ("Chrome on
Linux"), from the User-Agent header kept with the session (``UserSession.user_agent``).

Parsing is ua-parser's (the regexes browserscope keeps up to date, shipped as
``ua-parser-builtins``): a header is read once per process, and a list of sessions
repeats the same few.
"""

from __future__ import annotations

import functools

from flask_babel import gettext as _
from ua_parser import parse

# Names ua-parser gives that a reader knows by another: a headless or embedded build is
# still the browser, Apple's systems go by their current names.
_BROWSERS = {"HeadlessChrome": "Chrome", "Chrome Mobile": "Chrome", "Chrome Mobile iOS": "Chrome",
             "Chrome Mobile WebView": "Chrome", "Firefox Mobile": "Firefox", "Firefox iOS": "Firefox",
             "Mobile Safari": "Safari", "Mobile Safari UI/WKWebView": "Safari", "Edge Mobile": "Edge"}
_SYSTEMS = {"Mac OS X": "macOS", "Ubuntu": "Linux", "Fedora": "Linux", "Debian": "Linux"}


@functools.lru_cache(maxsize=1024)
def parts(user_agent: str) -> tuple[str | None, str | None]:
    """The browser's and the operating system's names (``("Chrome", "Linux")``); None
    for what the header does not tell (a script's ``python-requests/2.31``: no system)."""
    result = parse(user_agent[:1000])
    agent = result.user_agent.family if result.user_agent else None
    system = result.os.family if result.os else None
    agent = None if agent in (None, "Other") else _BROWSERS.get(agent, agent)
    system = None if system in (None, "Other") else _SYSTEMS.get(system, system)
    return agent, system


def browser(user_agent: str | None) -> str:
    """A session's browser in the reader's words: "Chrome on Linux", "Linux 上的 Chrome",
    "Chrome trên Linux"; "Unknown browser" for an empty or unreadable header."""
    agent, system = parts(user_agent or "")
    if agent and system:
        return _("%(browser)s on %(system)s", browser=agent, system=system)
    return agent or system or _("Unknown browser")
