"""Rendered parts of pages, kept in each worker's memory.

Nothing is deleted to expire a fragment: its key holds everything that decides what it
shows, including a version the database bumps on every write to the data under it
(``accounts.invoices_version``, kept by triggers on ``invoices``). A write therefore makes
a new key, whichever process or tool wrote, and the old fragment is never read again; it
leaves with the least recently used, or after ``TTL`` seconds at most.

The caller must read the version before the data it renders: a fragment may then be
newer than its key says, never older.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from cachetools import TTLCache
from markupsafe import Markup

TTL = 600  # seconds; bounds memory and what a restored database could still see cached


class FragmentCache:
    """At most ``size`` fragments (``0`` keeps none and renders every time)."""

    def __init__(self, size: int):
        self._fragments: TTLCache | None = TTLCache(maxsize=size, ttl=TTL) if size > 0 else None
        self._lock = threading.Lock()  # cachetools' caches are not thread-safe

    def get_or_render(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        if self._fragments is None:
            return render()
        with self._lock:
            fragment = self._fragments.get(key)
        if fragment is None:
            fragment = render()
            with self._lock:
                self._fragments[key] = fragment
        return fragment
