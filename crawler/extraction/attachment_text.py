"""The text of an attachment, from its bytes: a pure function, tested on bytes.

PDF through pypdf, Word (.docx) through python-docx, Excel (.xlsx) through openpyxl. The
format is read from the bytes first (``%PDF``, a ZIP holding ``word/`` or ``xl/``, an OLE2
compound file) and from the declared type second, so a ``.pdf`` link that serves a Word file
is still read. Old binary formats (.doc, .wps, .xls, .et) are recorded as not extracted, with
the reason; a file its parser refuses is ``corrupt``, with the parser's message. Nothing here
raises for what a file holds.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

# statuses
EXTRACTED = "extracted"
NOT_EXTRACTED = "not_extracted"
CORRUPT = "corrupt"

# a 1,000-page report is about 1.5 M characters; beyond this the text is cut (and says so)
MAX_TEXT_CHARS = 2_000_000

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLD_FORMATS = {
    "doc": "Word 97–2003 (.doc)",
    "wps": "WPS Writer (.wps)",
    "xls": "Excel 97–2003 (.xls)",
    "et": "WPS Spreadsheets (.et)",
    "ppt": "PowerPoint 97–2003 (.ppt)",
    "dps": "WPS Presentation (.dps)",
}


@dataclass(frozen=True)
class AttachmentText:
    status: str  # extracted | not_extracted | corrupt
    kind: str  # the format the bytes were read as: pdf, docx, xlsx, doc, …
    text: str = ""
    reason: str | None = None  # why not extracted, or what the parser said


def sniff(body: bytes, declared: str | None) -> str:
    """The format of ``body``: its magic bytes, else the declared type (lower-case, no dot)."""
    declared = (declared or "").lower().lstrip(".")
    if body.startswith(b"%PDF-"):
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            return declared or "zip"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
        return declared or "zip"
    if body.startswith(OLE2_MAGIC):
        return declared if declared in OLD_FORMATS else "doc"
    return declared


def _pdf(body: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(body), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        raise PermissionError("the PDF is encrypted")
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _docx(body: bytes) -> str:
    import docx

    document = docx.Document(io.BytesIO(body))
    lines = [p.text for p in document.paragraphs if p.text.strip()]
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells if c.text.strip()]
            if cells:
                lines.append(" | ".join(dict.fromkeys(cells)))  # merged cells repeat
    return "\n".join(lines)


def _xlsx(body: bytes) -> str:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    try:
        lines: list[str] = []
        for sheet in book.worksheets:
            lines.append(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                cells = [str(v).strip() for v in row if v is not None and str(v).strip()]
                if cells:
                    lines.append(" | ".join(cells))
        return "\n".join(lines)
    finally:
        book.close()


READERS = {"pdf": _pdf, "docx": _docx, "xlsx": _xlsx}


def attachment_text(body: bytes, declared: str | None = None) -> AttachmentText:
    """The text of one attachment's bytes; ``declared`` is the type its link gave (``pdf``)."""
    kind = sniff(body, declared)
    reader = READERS.get(kind)
    if reader is None:
        if kind in OLD_FORMATS:
            reason = f"{OLD_FORMATS[kind]} is an old binary format: text not extracted"
        else:
            reason = f"no text extraction for {'.' + kind if kind else 'an unknown type'}"
        return AttachmentText(NOT_EXTRACTED, kind, reason=reason)
    if kind == "pdf" and not body.startswith(b"%PDF-"):
        return AttachmentText(CORRUPT, kind, reason="not a PDF: the file does not start with %PDF-")
    try:
        text = reader(body)
    except PermissionError as exc:
        return AttachmentText(NOT_EXTRACTED, kind, reason=str(exc))
    except Exception as exc:  # each parser has its own errors; a bad file must not stop a run
        message = " ".join(str(exc).split())[:300] or type(exc).__name__
        return AttachmentText(CORRUPT, kind, reason=f"{kind} could not be read: {message}")
    text = "\n".join(line.strip() for line in text.replace("\x00", "").splitlines() if line.strip())
    if len(text) > MAX_TEXT_CHARS:
        return AttachmentText(
            EXTRACTED,
            kind,
            text[:MAX_TEXT_CHARS],
            reason=f"text cut at {MAX_TEXT_CHARS} characters",
        )
    return AttachmentText(EXTRACTED, kind, text)
