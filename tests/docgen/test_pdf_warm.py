"""The warm LibreOffice (unoserver): PDF/A-2b with embedded fonts, restarts, serialised calls.

Needs LibreOffice, poppler-utils, the unoserver package and a Python with LibreOffice's
``uno`` (Debian's python3-uno); skipped with a note without them, unless
``PORTAL_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unicodedata
import warnings
from pathlib import Path

import pytest

import docgen.pdf
from docgen import render
from docgen.pdf import PdfError, UnoserverConverter, UnoserverUnavailable, soffice_to_pdf, to_pdf
from tests.conftest import skip_or_fail

from .conftest import REPO, load_input

pytestmark = pytest.mark.pdf


def _tools_or_skip() -> None:
    for tool in ("soffice", "pdftotext", "pdfinfo", "pdffonts"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is not installed (Debian packages libreoffice-writer-nogui, poppler-utils)")


@pytest.fixture(scope="module")
def warm():
    """One warm server for the module's tests (starting one takes ~5 s)."""
    _tools_or_skip()
    converter = UnoserverConverter(timeout=30)
    try:
        converter.start()
    except UnoserverUnavailable as error:
        skip_or_fail(f"the warm PDF converter cannot start: {error}")
    yield converter
    converter.stop()


@pytest.fixture(scope="module")
def documents():
    return {
        "en": render(load_input("amendment"), ["en"]),
        "zh": render(load_input("amendment"), ["zh"]),
        "vi": render(load_input("work_order"), ["vi"]),
    }


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / f"text-{time.monotonic_ns()}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True)
    return unicodedata.normalize("NFC", text.stdout)


def assert_pdf_a2b_with_embedded_fonts(pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / f"check-{time.monotonic_ns()}.pdf"
    path.write_bytes(pdf)
    meta = subprocess.run(["pdfinfo", "-meta", str(path)], capture_output=True, text=True, check=True).stdout
    assert "<pdfaid:part>2</pdfaid:part>" in meta and "<pdfaid:conformance>B</pdfaid:conformance>" in meta
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    header, rows = fonts[0].split(), fonts[2:]
    assert rows, "no fonts listed"
    emb = header.index("emb")
    # Columns from the right: emb sub uni object ID (the name and type may hold spaces).
    for row in rows:
        assert row.split()[emb - len(header)] == "yes", row


def group_members(group: int) -> dict[int, str]:
    """pid -> command name of the processes in a process group (LibreOffice runs in unoserver's)."""
    members = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == group and fields[0] != "Z":
            members[int(stat.parent.name)] = name
    return members


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_warm_converter_keeps_the_text_of_english_chinese_and_vietnamese_documents(warm, documents, tmp_path):
    texts = {
        language: pdf_text(pdf, tmp_path)
        for language, pdf in zip(documents, warm.convert_all(list(documents.values())))
    }

    assert "Page 1 of 2" in texts["en"] and "An increase of seven thousand Chinese yuan" in " ".join(texts["en"].split())
    for expected in ("合同补充协议", "甲方", "乙方", "第 1 页，共 2 页", "2026年12月1日"):
        assert set(expected) <= set(texts["zh"]), expected
    assert "人民币柒仟元整" in texts["zh"]
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Bên A", "Một tỷ hai trăm năm mươi triệu đồng"):
        assert set(expected.split()) <= set(texts["vi"].split()), expected


@pytest.mark.parametrize("language", ["en", "zh", "vi"])
def test_warm_pdfs_are_pdf_a_2b_with_every_font_embedded(warm, documents, language, tmp_path):
    assert_pdf_a2b_with_embedded_fonts(warm.convert(documents[language]), tmp_path)


def test_the_one_process_fallback_also_writes_pdf_a_2b_with_every_font_embedded(documents, tmp_path):
    _tools_or_skip()
    [pdf] = soffice_to_pdf([documents["zh"]])
    assert_pdf_a2b_with_embedded_fonts(pdf, tmp_path)
    assert "人民币柒仟元整" in pdf_text(pdf, tmp_path)


def test_concurrent_conversions_are_serialised_and_all_succeed(warm, documents, tmp_path, monkeypatch):
    running, most = 0, 0
    count = threading.Lock()
    server_convert = docgen.pdf._Server.convert

    def counted(server, document, timeout):
        nonlocal running, most
        with count:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.05)  # widen the window two unserialised calls would overlap in
            return server_convert(server, document, timeout)
        finally:
            with count:
                running -= 1

    monkeypatch.setattr(docgen.pdf._Server, "convert", counted)
    languages = ["en", "zh", "vi"] * 2
    results: dict[int, bytes] = {}
    errors: list[BaseException] = []

    def convert(index: int) -> None:
        try:
            results[index] = warm.convert(documents[languages[index]])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=convert, args=(index,)) for index in range(len(languages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == [] and len(results) == len(languages)
    assert most == 1
    for index, language in enumerate(languages):  # each caller got its own document back
        text = pdf_text(results[index], tmp_path)
        marker = {"en": "AMENDMENT", "zh": "人民币柒仟元整", "vi": "Bên A"}[language]
        assert marker in text, (index, language)


@pytest.mark.parametrize("victim", ["unoserver and LibreOffice", "LibreOffice alone"])
def test_a_killed_server_is_replaced_and_the_next_conversion_works(warm, documents, victim, tmp_path):
    group = warm.server_pid
    starts = warm.starts
    if victim == "LibreOffice alone":
        [office] = [pid for pid, name in group_members(group).items() if name == "soffice.bin"]
        os.kill(office, signal.SIGKILL)
    else:
        os.killpg(group, signal.SIGKILL)

    pdf = warm.convert(documents["en"])

    assert "increase of seven thousand Chinese yuan" in " ".join(pdf_text(pdf, tmp_path).split())
    assert warm.starts == starts + 1 and warm.server_pid not in (None, group)
    assert wait_until(lambda: not group_members(group), 10), group_members(group)  # no LibreOffice left behind


def test_a_server_that_dies_between_conversions_is_restarted_before_the_next_one(warm, documents):
    group, starts = warm.server_pid, warm.starts
    os.killpg(group, signal.SIGKILL)
    # Restarted in the background, without waiting for a conversion to need it.
    assert wait_until(lambda: warm.starts == starts + 1 and warm.server_pid not in (None, group), 30)
    started = time.monotonic()
    warm.convert(documents["en"])
    assert time.monotonic() - started < 4.0  # warm: a start alone takes ~5 s


def test_a_hung_conversion_times_out_and_the_server_is_replaced(warm, documents, tmp_path, monkeypatch):
    group, starts = warm.server_pid, warm.starts
    [office] = [pid for pid, name in group_members(group).items() if name == "soffice.bin"]
    os.kill(office, signal.SIGSTOP)  # LibreOffice stops answering
    monkeypatch.setattr(warm, "timeout", 3)

    started = time.monotonic()
    with pytest.raises(PdfError, match="within 3 s"):
        warm.convert(documents["en"])
    assert time.monotonic() - started < 10
    assert wait_until(lambda: not group_members(group), 10), group_members(group)  # the stopped one is killed

    pdf = warm.convert(documents["en"])
    assert "increase of seven thousand Chinese yuan" in " ".join(pdf_text(pdf, tmp_path).split())
    assert warm.starts == starts + 1


def in_a_forked_child(work) -> dict:
    """``work()`` (a JSON-able result) in a child forked from this process, as RQ forks a
    work horse from its worker for each job; the child leaves by ``os._exit``, as a work
    horse does."""
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # forking a process with threads (3.12+)
        child = os.fork()
    if child == 0:
        try:
            os.close(read)
            try:
                answer = {"result": work()}
            except BaseException as error:  # noqa: BLE001 - reported to the parent
                answer = {"error": repr(error)}
            os.write(write, json.dumps(answer).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = json.loads(pipe.read() or b'{"error": "the child said nothing"}')
    os.waitpid(child, 0)
    assert "error" not in answer, answer["error"]
    return answer["result"]


def test_a_forked_child_converts_on_its_parents_warm_server_and_leaves_it_running(warm, documents, tmp_path):
    """An RQ work horse converts on its worker's warm LibreOffice instead of starting one
    (~5 s) for each job; its stopping (at exit) lets the server go without stopping it."""
    group, starts = warm.server_pid, warm.starts

    def convert_and_stop():
        started = time.monotonic()
        pdf = warm.convert(documents["en"])
        seen = {"pid": warm.server_pid, "starts": warm.starts, "seconds": time.monotonic() - started,
                "pdf": pdf.startswith(b"%PDF-")}
        warm.stop()  # what atexit does in a child that exits normally
        return seen

    seen = in_a_forked_child(convert_and_stop)

    assert seen["pid"] == group and seen["starts"] == starts and seen["pdf"], seen
    assert seen["seconds"] < 4.0, seen  # warm: a start alone takes ~5 s
    assert warm.server_pid == group and "soffice.bin" in group_members(group).values()
    assert "Bên A" in pdf_text(warm.convert(documents["vi"]), tmp_path)
    assert warm.starts == starts


def test_a_forked_child_whose_borrowed_server_is_gone_starts_its_own(warm, documents):
    group = warm.server_pid

    def without_the_parents_server():
        os.killpg(group, signal.SIGKILL)
        assert wait_until(lambda: not group_members(group), 10)
        pdf = warm.convert(documents["en"])
        own = warm.server_pid
        warm.stop()
        return {"own": own, "pdf": pdf.startswith(b"%PDF-")}

    seen = in_a_forked_child(without_the_parents_server)
    assert seen["pdf"] and seen["own"] not in (None, group)
    assert wait_until(lambda: not group_members(seen["own"]), 10)  # the child's own stopped with it
    # The parent, whose server it was, starts another in the background.
    assert wait_until(lambda: warm.server_pid not in (None, group), 30)


def test_warm_up_starts_nothing_when_docgen_pdf_says_soffice(fresh_default, monkeypatch):
    monkeypatch.setenv("DOCGEN_PDF", "soffice")
    assert docgen.pdf.warm_up() is False
    assert docgen.pdf._default_converter is None


LAUNCH = textwrap.dedent(
    """
    import sys, time
    from docgen.pdf import warm_converter
    converter = warm_converter()
    converter.start()
    print(converter.server_pid, flush=True)
    sys.stdin.readline()  # the test has seen LibreOffice running
    if sys.argv[1] == "hang":
        time.sleep(600)
    """
)


@pytest.mark.parametrize("ending", ["exit", "hang"])
def test_the_server_stops_when_its_process_ends_even_killed(ending):
    _tools_or_skip()
    process = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, ending],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = process.stdout.readline().strip()
        if not line:
            process.wait(30)
            last = (process.stderr.read().strip().splitlines() or ["(nothing on stderr)"])[-1]
            skip_or_fail(f"the warm PDF converter cannot start: {last}")
        group = int(line)
        assert "soffice.bin" in group_members(group).values()
        process.stdin.write("go\n")
        process.stdin.flush()
        if ending == "hang":
            process.kill()  # no atexit: the server must notice by itself
        assert process.wait(30) in (0, -signal.SIGKILL)
        assert wait_until(lambda: not group_members(group), 15), group_members(group)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout, process.stderr):
            stream.close()


@pytest.fixture
def fresh_default(monkeypatch):
    """to_pdf's process-wide converter and its once-only notes, new for the test."""
    monkeypatch.setattr(docgen.pdf, "_default_converter", None)
    monkeypatch.setattr(docgen.pdf, "_said", set())
    yield
    if docgen.pdf._default_converter is not None:
        docgen.pdf._default_converter.stop()


def test_without_uno_to_pdf_falls_back_to_one_soffice_process_and_says_why_once(
    documents, fresh_default, monkeypatch, caplog, tmp_path
):
    _tools_or_skip()
    monkeypatch.setenv("DOCGEN_UNO_PYTHON", "/nonexistent/python3")
    monkeypatch.delenv("DOCGEN_PDF", raising=False)

    with caplog.at_level(logging.WARNING, logger="docgen.pdf"):
        [first] = to_pdf([documents["zh"]])
        [second] = to_pdf([documents["vi"]])

    assert "人民币柒仟元整" in pdf_text(first, tmp_path) and "Bên A" in pdf_text(second, tmp_path)
    notes = [record.getMessage() for record in caplog.records]
    assert len(notes) == 1 and "falls back" in notes[0] and "DOCGEN_UNO_PYTHON=/nonexistent/python3" in notes[0]
    assert docgen.pdf.warm_converter().server_pid is None


def test_docgen_pdf_unoserver_refuses_instead_of_falling_back(documents, fresh_default, monkeypatch):
    _tools_or_skip()
    monkeypatch.setenv("DOCGEN_UNO_PYTHON", "/nonexistent/python3")
    monkeypatch.setenv("DOCGEN_PDF", "unoserver")
    with pytest.raises(UnoserverUnavailable, match="cannot import uno"):
        to_pdf([documents["en"]])


def test_docgen_pdf_soffice_never_starts_the_warm_server(documents, fresh_default, monkeypatch, tmp_path):
    _tools_or_skip()
    monkeypatch.setenv("DOCGEN_PDF", "soffice")
    [pdf] = to_pdf([documents["en"]])
    assert "AMENDMENT" in pdf_text(pdf, tmp_path)
    assert docgen.pdf._default_converter is None


def test_an_unknown_docgen_pdf_is_refused(documents, monkeypatch):
    monkeypatch.setenv("DOCGEN_PDF", "warm")
    with pytest.raises(PdfError, match="DOCGEN_PDF must be one of auto, unoserver, soffice"):
        to_pdf([documents["en"]])
