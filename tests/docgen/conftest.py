"""Fixtures for docgen: example inputs (tests/docgen/inputs) and rendering helpers."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

INPUTS = Path(__file__).with_name("inputs")
REPO = Path(__file__).resolve().parents[2]
KIND_NAMES = ("amendment", "work_order", "plan", "review_pack", "invoice", "statement")
LANGUAGE_SETS = (["en"], ["zh"], ["vi"], ["en", "zh"], ["en", "vi"], ["zh", "vi"])


def load_input(kind: str) -> dict:
    return json.loads((INPUTS / f"{kind}.json").read_text(encoding="utf-8"))


def docgen(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m docgen ARGS`` from the repository, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "docgen", *args], capture_output=True, text=True, cwd=REPO, env=env, check=False
    )


@pytest.fixture
def amendment() -> dict:
    return load_input("amendment")


@pytest.fixture
def work_order() -> dict:
    return load_input("work_order")


@pytest.fixture
def plan() -> dict:
    return load_input("plan")


@pytest.fixture
def review_pack() -> dict:
    return load_input("review_pack")


@pytest.fixture
def example():
    """A fresh copy of a kind's example input: ``example("plan")``."""
    cache = {kind: load_input(kind) for kind in KIND_NAMES}
    return lambda kind: copy.deepcopy(cache[kind])
