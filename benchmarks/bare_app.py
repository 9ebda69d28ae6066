"""The floor for the page benchmarks: a bare Flask route returning a constant string,
served by the same gunicorn settings (``gunicorn -c gunicorn.conf.py
benchmarks.bare_app:app``). No database, no session, no templates."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def bare() -> str:
    return "ok"
