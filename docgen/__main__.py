"""Command line: ``python -m docgen render INPUT.json -o OUT.docx [--lang en+zh] [--pdf]``.

``python -m docgen kinds`` lists the kinds of document. Bad input prints one line
per problem (``path: message``) on stderr, exits 2 and writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from decimal import Decimal
from pathlib import Path

from docgen import KINDS, FontNotFound, ValidationError, render
from docgen.pdf import PdfError, pdf_mode, to_pdf

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docgen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("kinds", help="list the kinds of document")
    render_command = commands.add_parser("render", help="render a document from its JSON input")
    render_command.add_argument("input", help="input JSON file ('-' for standard input)")
    render_command.add_argument("-o", "--output", required=True, type=Path, help="OUT.docx, or OUT.pdf for a PDF only")
    render_command.add_argument(
        "--lang", help="override the input's languages: en, zh, vi, or two joined by '+' (en+zh, en+vi, zh+vi)"
    )
    render_command.add_argument("--pdf", action="store_true", help="also write OUT.pdf (needs LibreOffice)")
    args = parser.parse_args(argv)

    if args.command == "kinds":
        print("\n".join(KINDS))
        return 0
    return _render(args)


def _render(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.input == "-" else Path(args.input).read_text(encoding="utf-8")
        # JSON numbers stay exact: 85.10 must not become a binary float.
        data = json.loads(text, parse_float=Decimal)
    except OSError as error:
        return _bad_input([("input", f"cannot read {args.input}: {error.strerror}")])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return _bad_input([("input", f"not valid JSON: {error}")])

    languages = args.lang.split("+") if args.lang else None
    try:
        document = render(data, languages)
    except ValidationError as error:  # a missing translation or a character no font has, too
        return _bad_input(error.errors)
    except FontNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE

    output: Path = args.output
    pdf_only = output.suffix.lower() == ".pdf"
    try:  # before anything is written: a missing LibreOffice writes nothing
        # One document, then the process ends: a warm server would only add its start,
        # so one soffice process converts it unless DOCGEN_PDF says otherwise.
        mode = pdf_mode() if os.environ.get("DOCGEN_PDF") else "soffice"
        pdf = to_pdf([document], mode=mode)[0] if pdf_only or args.pdf else None
    except PdfError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE

    if not pdf_only:
        output.write_bytes(document)
        print(f"{output}  sha256 {hashlib.sha256(document).hexdigest()}")
    if pdf is not None:
        pdf_path = output.with_suffix(".pdf")
        pdf_path.write_bytes(pdf)
        print(pdf_path)
    return 0


def _bad_input(problems: list[tuple[str, str]]) -> int:
    for path, message in problems:
        print(f"{path}: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
