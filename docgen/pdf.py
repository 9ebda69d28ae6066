"""Convert .docx to PDF/A-2b, every font embedded, with LibreOffice headless.

Two ways, chosen by ``DOCGEN_PDF`` (``auto``, the default; ``unoserver``; ``soffice``):

* A warm LibreOffice per process (``UnoserverConverter``): ``unoserver`` runs under a
  Python that can import LibreOffice's ``uno`` (Debian's ``python3-uno`` for
  ``/usr/bin/python3``; another with ``DOCGEN_UNO_PYTHON``) and converts each document
  over XML-RPC on 127.0.0.1 in ~0.2 s, after a start of ~5 s. One LibreOffice converts
  one document at a time, so conversions are serialised per server; a server that
  dies is replaced, one that hangs past the timeout is killed and replaced.
* One ``soffice --convert-to`` process per call (``soffice_to_pdf``): ~1 s to start,
  then ~0.2 s per document of the batch. ``auto`` falls back to it, saying why once,
  when the warm server cannot be had; ``unoserver`` raises ``PdfError`` instead.

Conversion belongs off the request path (a background job, caching the PDF by the
document's SHA-256). LibreOffice PDFs are never byte-identical (creation date, /ID).

A process forked from one with a warm server (an RQ work horse, forked from its worker
for each job) converts on that server instead of starting its own: the parent owns it
(restarts it, stops it), the child only borrows it, and starts one of its own only
when the borrowed one is gone.
"""

from __future__ import annotations

import atexit
import collections
import http.client
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
import xmlrpc.client
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

MODES = ("auto", "unoserver", "soffice")
# writer_pdf_Export's options: SelectPdfVersion 2 is PDF/A-2b, which embeds every font;
# EmbedStandardFonts embeds the 14 standard PDF fonts too, should one ever be used.
PDF_FILTER = "writer_pdf_Export"
PDF_OPTIONS = {"SelectPdfVersion": 2, "EmbedStandardFonts": True}
UNOSERVER_API = "3"  # unoserver 3's XML-RPC interface: convert(inpath, indata, outpath, convert_to, ...)
DOCUMENT_TIMEOUT = 60.0  # seconds one warm conversion may take before the server is replaced
START_TIMEOUT = 30.0  # seconds a new server may take to answer (it takes ~5 s: unoserver waits 5 s)
RETRY_START_AFTER = 30.0  # after a failed start, calls fall back (or fail) for this long
UNO_PYTHONS = ("/usr/bin/python3", "python3")

# Runs unoserver's server in the Python that has uno, in its work directory. When its
# standard input closes, that is when the process that started it is gone, even killed,
# it removes that directory and kills its process group (itself and LibreOffice): no
# orphaned LibreOffice, no stray profile, after a worker crash.
_LAUNCHER = """\
import os, shutil, signal, sys, threading
def _watch():
    while os.read(0, 4096):
        pass
    shutil.rmtree(os.getcwd(), ignore_errors=True)
    os.killpg(0, signal.SIGKILL)
threading.Thread(target=_watch, daemon=True).start()
from unoserver.server import main
sys.exit(main())
"""


class PdfError(RuntimeError):
    """LibreOffice is missing or failed to convert a document."""


class ConverterMissing(PdfError):
    """LibreOffice is not installed: trying again will not find it."""


class UnoserverUnavailable(PdfError):
    """The warm server cannot be started (missing pieces, or LibreOffice would not start)."""


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_mode() -> str:
    """The converter ``DOCGEN_PDF`` chooses: ``auto`` (default), ``unoserver`` or ``soffice``."""
    mode = os.environ.get("DOCGEN_PDF", "").strip().lower() or "auto"
    if mode not in MODES:
        raise PdfError(f"DOCGEN_PDF must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def to_pdf(documents: Sequence[bytes], *, timeout: float = 300, mode: str | None = None) -> list[bytes]:
    """Convert .docx documents to PDF/A-2b; same order out.

    ``mode`` (default ``DOCGEN_PDF``, else ``auto``): ``auto`` uses this process's warm
    LibreOffice and falls back to one ``soffice`` process for the batch when it cannot be
    started (logging why, once); ``unoserver`` raises ``PdfError`` instead; ``soffice``
    always starts one process. ``timeout`` bounds the ``soffice`` batch; each warm
    conversion has ``DOCUMENT_TIMEOUT``.
    """
    mode = mode or pdf_mode()
    if mode not in MODES:
        raise PdfError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode != "soffice" and documents:
        try:
            return warm_converter().convert_all(documents)
        except UnoserverUnavailable as error:
            if mode == "unoserver":
                raise
            _say_once(f"PDF conversion falls back to one soffice process per batch: {error}")
    return soffice_to_pdf(documents, timeout=timeout)


def warm_up() -> bool:
    """Start this process's warm LibreOffice now (a worker at boot, whose forked children
    then borrow it); False if it cannot be, or ``DOCGEN_PDF=soffice`` wants none."""
    if pdf_mode() == "soffice":
        return False
    try:
        warm_converter().start()
    except UnoserverUnavailable as error:
        _say_once(f"PDF conversion falls back to one soffice process per batch: {error}")
        return False
    return True


_default_converter: UnoserverConverter | None = None
_default_lock = threading.Lock()


def warm_converter() -> UnoserverConverter:
    """This process's warm converter (made on first use; its server starts on first use)."""
    global _default_converter
    with _default_lock:
        if _default_converter is None:
            _default_converter = UnoserverConverter()
        return _default_converter


_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        logger.warning(message)


def soffice_to_pdf(documents: Sequence[bytes], *, timeout: float = 300) -> list[bytes]:
    """Convert .docx documents to PDF/A-2b in one LibreOffice process; same order out.

    Each call uses its own LibreOffice profile in a temporary directory: concurrent
    conversions sharing a profile can fail.
    """
    soffice = soffice_path()
    if soffice is None:
        raise ConverterMissing("LibreOffice (soffice) is not on PATH: install libreoffice-writer-nogui to convert to PDF")
    if not documents:
        return []
    # LibreOffice 7.4+ reads a filter's options as JSON on the command line.
    options = {
        name: {"type": "boolean" if isinstance(value, bool) else "long", "value": str(value).lower()}
        for name, value in PDF_OPTIONS.items()
    }
    with tempfile.TemporaryDirectory(prefix="docgen-pdf-") as work:
        work_dir = Path(work)
        sources = []
        for index, document in enumerate(documents):
            source = work_dir / f"document-{index}.docx"
            source.write_bytes(document)
            sources.append(source)
        command = [
            soffice,
            f"-env:UserInstallation={(work_dir / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            f"pdf:{PDF_FILTER}:{json.dumps(options, separators=(',', ':'))}",
            "--outdir",
            str(work_dir),
            *map(str, sources),
        ]
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise PdfError(f"LibreOffice did not finish within {timeout:.0f} s") from None
        pdfs = [source.with_suffix(".pdf") for source in sources]
        if completed.returncode != 0 or not all(pdf.exists() for pdf in pdfs):
            detail = (completed.stderr or completed.stdout).strip()
            raise PdfError(f"LibreOffice failed to convert (exit {completed.returncode}): {detail}")
        return [pdf.read_bytes() for pdf in pdfs]


def uno_python() -> tuple[str | None, str]:
    """A Python that can import ``uno``, and why none was found (``DOCGEN_UNO_PYTHON`` first)."""
    chosen = os.environ.get("DOCGEN_UNO_PYTHON", "").strip()
    candidates = [chosen] if chosen else [*UNO_PYTHONS]
    if not chosen and (soffice := soffice_path()):
        # LibreOffice's own builds ship a Python with uno beside soffice.
        candidates.append(str(Path(os.path.realpath(soffice)).with_name("python")))
    for candidate in candidates:
        executable = shutil.which(candidate)
        if executable is None:
            continue
        try:
            probe = subprocess.run(
                [executable, "-c", "import uno"], capture_output=True, env=_clean_env(), timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return executable, ""
    if chosen:
        return None, f"DOCGEN_UNO_PYTHON={chosen} cannot import uno"
    return None, "no Python here can import LibreOffice's uno module (install Debian's python3-uno)"


def _unoserver_package() -> tuple[list[Path], str]:
    """The installed unoserver package and its metadata, to put on the server's path."""
    spec = importlib.util.find_spec("unoserver")
    if spec is None or not spec.submodule_search_locations:
        return [], "the unoserver package is not installed (pip install unoserver)"
    package = Path(next(iter(spec.submodule_search_locations)))
    try:
        distribution = importlib.metadata.distribution("unoserver")
    except importlib.metadata.PackageNotFoundError:
        return [], "the unoserver package has no metadata (install it with pip)"
    metadata = next((file for file in distribution.files or () if file.name == "METADATA"), None)
    if metadata is None:
        return [], "the unoserver package has no metadata"
    return [package, Path(str(distribution.locate_file(metadata))).parent], ""


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point another Python at our packages."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE"}
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _ServerDied(Exception):
    pass


class _ServerHung(Exception):
    pass


class _Transport(xmlrpc.client.Transport):
    """XML-RPC over HTTP with a socket timeout (unoserver's own client has none)."""

    def __init__(self, timeout: float):
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


class _Server:
    """One ``unoserver`` and its LibreOffice, in a process group and a profile of their own."""

    def __init__(self, python: str, soffice: str, package: list[Path], timeout: float, on_exit):
        self.work = Path(tempfile.mkdtemp(prefix="docgen-unoserver-"))
        shim = self.work / "path"
        shim.mkdir()
        tmp = self.work / "tmp"
        tmp.mkdir()
        for path in package:  # only unoserver on the other Python's path, nothing else of ours
            (shim / path.name).symlink_to(path, target_is_directory=True)
        self.port = _free_port()
        uno_port = _free_port()
        while uno_port == self.port:
            uno_port = _free_port()
        command = [
            python,
            "-c",
            _LAUNCHER,
            "--interface",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--uno-port",
            str(uno_port),
            "--user-installation",
            str(self.work / "profile"),
            "--conversion-timeout",  # its own limit, should this process stop waiting
            str(int(timeout) + 5),
            "--executable",
            soffice,
        ]
        self.output: collections.deque[str] = collections.deque(maxlen=40)
        self.stopping = False
        self.borrowed = False  # a forked child's use of its parent's server
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                # Its temporary files (each document in and out) go where stop() removes them.
                env={**_clean_env(), "PYTHONPATH": str(shim), "TMPDIR": str(tmp)},
                cwd=self.work,
                start_new_session=True,  # its own process group: LibreOffice is stopped with it
            )
        except OSError as error:
            shutil.rmtree(self.work, ignore_errors=True)
            raise UnoserverUnavailable(f"cannot run {python}: {error}") from None
        self.pid = self.process.pid
        threading.Thread(target=self._read_output, name=f"unoserver-{self.pid}-output", daemon=True).start()
        threading.Thread(target=self._wait, args=(on_exit,), name=f"unoserver-{self.pid}-wait", daemon=True).start()

    def _read_output(self) -> None:
        for line in iter(self.process.stdout.readline, b""):
            self.output.append(line.decode("utf-8", "replace").rstrip())
        self.process.stdout.close()

    def _wait(self, on_exit) -> None:
        self.process.wait()
        if not self.stopping:
            on_exit(self)

    def alive(self) -> bool:
        if self.borrowed:  # not this process's child: ask whether it still runs
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:  # pragma: no cover - it runs, as someone else
                return True
            return True
        return self.process.poll() is None

    def tail(self) -> str:
        return " | ".join(line for line in list(self.output)[-8:] if line)

    def _proxy(self, timeout: float) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(
            f"http://127.0.0.1:{self.port}", transport=_Transport(timeout), allow_none=True
        )

    def wait_ready(self, deadline: float, limit: float) -> None:
        """Until unoserver answers ``info()`` with the API we speak; raises UnoserverUnavailable."""
        while True:
            if not self.alive():
                raise UnoserverUnavailable(
                    f"unoserver exited with code {self.process.returncode} while starting: {self.tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise UnoserverUnavailable(f"unoserver did not answer within {limit:.0f} s: {self.tail()}")
            try:
                info = self._proxy(min(5.0, remaining)).info()
            except (OSError, http.client.HTTPException, xmlrpc.client.Error):
                time.sleep(0.1)
                continue
            if str(info.get("api")) != UNOSERVER_API:
                raise UnoserverUnavailable(
                    f"unoserver {info.get('unoserver')} speaks API {info.get('api')}, not {UNOSERVER_API}"
                )
            return

    def convert(self, document: bytes, timeout: float) -> bytes:
        try:
            result = self._proxy(timeout).convert(
                None,  # inpath
                xmlrpc.client.Binary(document),  # indata
                None,  # outpath: return the bytes
                "pdf",
                PDF_FILTER,
                [f"{name}={str(value).lower()}" for name, value in PDF_OPTIONS.items()],
                False,  # update_index: no tables of contents to refresh
                None,  # infiltername: detected (unoserver 3.0 takes no more arguments)
            )
        except TimeoutError:
            raise _ServerHung from None
        except xmlrpc.client.Fault as fault:
            if not self.healthy():
                raise _ServerDied(fault.faultString) from None
            raise PdfError(f"LibreOffice could not convert the document: {fault.faultString.strip()}") from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as error:
            raise _ServerDied(str(error)) from None
        return result.data

    def healthy(self) -> bool:
        """Whether LibreOffice still answers (a refused document leaves it well)."""
        if not self.alive():
            return False
        try:
            self._proxy(5.0).info()
        except (OSError, http.client.HTTPException, xmlrpc.client.Error):
            return False
        return True

    def kill(self) -> None:
        """SIGKILL to unoserver and LibreOffice (its process group)."""
        try:
            os.killpg(self.pid, signal.SIGKILL)  # start_new_session: the group's id is unoserver's pid
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """Kill unoserver and LibreOffice: nothing in a throwaway profile is worth a shutdown.
        A borrowed server is only let go: the parent that owns it stops it."""
        self.stopping = True
        if self.borrowed:
            return
        self.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be refused
            logger.error("unoserver %s did not stop", self.pid)
        self.abandon()
        shutil.rmtree(self.work, ignore_errors=True)

    def abandon(self) -> None:
        """Let go of the server without stopping it (a forked child's copy of its parent's)."""
        self.stopping = True
        for stream in (self.process.stdin,):
            try:
                stream.close()
            except OSError:
                pass


_converters: weakref.WeakSet[UnoserverConverter] = weakref.WeakSet()


class UnoserverConverter:
    """A warm LibreOffice (``unoserver``) converting one document at a time.

    The server starts on first use (or ``start()``), in a profile and process group of
    its own on free local ports, and stops at exit. If it dies it is started again at
    once, in the background; a conversion it does not finish within ``timeout`` seconds
    kills it (``PdfError``) and a new one is started. A document whose conversion broke
    the connection is tried once more on a new server.
    """

    def __init__(self, *, timeout: float = DOCUMENT_TIMEOUT, start_timeout: float = START_TIMEOUT):
        self.timeout = timeout
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._wanted = False  # stop() turns the background restarts off
        self._missing: str | None = None  # a piece that is not installed: no point retrying
        self._failed: tuple[float, str] | None = None  # (when, why) the last start failed
        self.starts = 0  # servers started so far
        _converters.add(self)

    @property
    def server_pid(self) -> int | None:
        """unoserver's pid, which is also its process group's (LibreOffice is in it)."""
        server = self._server
        return server.pid if server is not None and server.alive() else None

    def start(self) -> None:
        """Start the server unless it runs; raises UnoserverUnavailable."""
        with self._lock:
            self._wanted = True
            self._running()

    def convert(self, document: bytes) -> bytes:
        """One .docx to PDF/A-2b."""
        with self._lock:
            self._wanted = True
            for attempt in (1, 2):
                server = self._running()
                try:
                    return server.convert(document, self.timeout)
                except _ServerDied as error:
                    self._discard(server)
                    if attempt == 2:
                        raise PdfError(f"LibreOffice died converting the document twice: {error}") from None
                    logger.warning("LibreOffice died during a conversion (%s); trying again on a new one", error)
                except _ServerHung:
                    if server.borrowed:
                        server.kill()  # the parent's: it notices and starts another
                    self._discard(server)
                    self._restart_in_background(None)
                    raise PdfError(
                        f"LibreOffice did not convert the document within {self.timeout:.0f} s; it was restarted"
                    ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def convert_all(self, documents: Sequence[bytes]) -> list[bytes]:
        """Each document in turn, taking the server per document so other callers interleave."""
        return [self.convert(document) for document in documents]

    def stop(self) -> None:
        """Stop the server (a later conversion starts another)."""
        with self._lock:
            self._wanted = False
            if self._server is not None:
                self._discard(self._server)

    def _running(self) -> _Server:
        server = self._server
        if server is not None and server.alive():
            return server
        if server is not None and server.borrowed:
            logger.warning("the parent process's unoserver %s is gone; starting one of this process's own", server.pid)
            self._discard(server)
        elif server is not None:
            logger.warning(
                "LibreOffice's unoserver %s exited (code %s); starting another: %s",
                server.pid,
                server.process.returncode,
                server.tail(),
            )
            self._discard(server)
        if self._missing is not None:
            raise UnoserverUnavailable(self._missing)
        if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_START_AFTER:
            raise UnoserverUnavailable(f"{self._failed[1]} (next try within {RETRY_START_AFTER:.0f} s)")
        self._server = self._start()
        return self._server

    def _start(self) -> _Server:
        soffice = soffice_path()
        python, why = uno_python() if soffice else (None, "")
        package, why_not = _unoserver_package()
        if soffice is None or python is None or not package:
            self._missing = (
                "LibreOffice (soffice) is not on PATH" if soffice is None else why if python is None else why_not
            )
            raise UnoserverUnavailable(self._missing)
        started = time.monotonic()
        for attempt in (1, 2):  # a second try with other ports, should one have been taken meanwhile
            server = _Server(python, soffice, package, self.timeout, self._restart_in_background)
            try:
                server.wait_ready(started + self.start_timeout, self.start_timeout)
            except UnoserverUnavailable as error:
                server.stop()
                if attempt == 2 or time.monotonic() - started > self.start_timeout / 2:
                    self._failed = (time.monotonic(), str(error))
                    raise
                continue
            self._failed = None
            self.starts += 1
            logger.info(
                "LibreOffice's unoserver %s ready on 127.0.0.1:%s after %.1f s",
                server.pid,
                server.port,
                time.monotonic() - started,
            )
            return server
        raise AssertionError("unreachable")  # pragma: no cover

    def _discard(self, server: _Server) -> None:
        server.stop()
        if self._server is server:
            self._server = None

    def _restart_in_background(self, dead: _Server | None) -> None:
        """A server died (or was killed for hanging): have the next one warm before it is needed."""

        def restart() -> None:
            with self._lock:
                if not self._wanted or (dead is not None and self._server is not dead):
                    return
                try:
                    self._running()
                except PdfError as error:
                    logger.warning("LibreOffice's unoserver could not be restarted: %s", error)

        threading.Thread(target=restart, name="unoserver-restart", daemon=True).start()

    def _after_fork(self) -> None:
        # The parent's lock and threads are the parent's: start afresh here. Its server is
        # borrowed while it runs (an RQ work horse converts on its worker's warm one); this
        # child's copy of the server's standard input is closed, so that the server still
        # stops when the parent does.
        self._lock = threading.Lock()
        server = self._server
        if server is not None:
            server.abandon()
            server.borrowed = True


def _stop_all() -> None:
    for converter in list(_converters):
        try:
            converter.stop()
        except Exception:  # at exit, stop the others whatever happens
            logger.exception("stopping a PDF converter")


def _after_fork_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for converter in list(_converters):
        converter._after_fork()


atexit.register(_stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = [
    "MODES",
    "ConverterMissing",
    "PdfError",
    "UnoserverConverter",
    "UnoserverUnavailable",
    "pdf_mode",
    "soffice_path",
    "soffice_to_pdf",
    "to_pdf",
    "uno_python",
    "warm_converter",
    "warm_up",
]
