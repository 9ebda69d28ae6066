"""Demo data (placeholder; filled in by the demo-data work)."""

DEFAULT_PASSWORD = "portal-demo-2026"


def database_is_empty(session) -> bool:
    return True


def load(session, password: str) -> str:
    return "nothing"
