"""A checkout served without ``make``: no compiled catalogs (.mo files are not committed),
yet the portal speaks Chinese and Vietnamese, as docgen always did (issue 19)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

from tests.conftest import ROOT

PAGE = textwrap.dedent("""
    from portal import create_app
    app = create_app({"PORTAL_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    client = app.test_client()
    for language in ("zh", "vi"):
        page = client.get("/login", headers={"Accept-Language": language})
        print(language, page.status_code, page.get_data(as_text=True).split("<h1")[1].split(">", 1)[1].split("<")[0])
""")


def test_a_tree_without_compiled_catalogs_serves_chinese_and_vietnamese(tmp_path):
    for part in ("portal", "docgen", "translations"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("*.mo", "__pycache__"))
    assert not list((tmp_path / "translations").rglob("*.mo"))
    answer = subprocess.run([sys.executable, "-c", PAGE], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)})
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert answer.stdout.splitlines() == ["zh 200 登录", "vi 200 Đăng nhập"]
