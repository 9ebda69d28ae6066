"""Gunicorn settings for the portal: ``gunicorn wsgi:app`` reads this file from the
working directory (or say ``-c gunicorn.conf.py``). The benchmarks serve with it too."""

import gc
import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
# A page spends most of its time on the CPU (ORM, templates), little waiting on the
# database: one sync worker per core keeps the cores busy; more would queue for them.
worker_class = "sync"
workers = multiprocessing.cpu_count()
# Each worker imports the app itself: no state shared through fork.
preload_app = False
# gunicorn believes X-Forwarded-Proto (-Ssl, -Protocol) from 127.0.0.1 by default, so a
# forged header would make a plain request look like TLS (and send HSTS). It believes
# none: which proxies count is the app's PROXY_FIX_* setting alone (werkzeug's ProxyFix).
forwarded_allow_ips = ""


def post_worker_init(worker):
    """Move everything the app built at start-up (modules, mappers, templates) out of
    the garbage collector's reach. Otherwise every full collection walks it all:
    pauses of 45-57 ms every few hundred requests."""
    gc.collect()
    gc.freeze()
