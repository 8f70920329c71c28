"""Real-format attachments for the sample portal: PDF (pypdf), Word (python-docx) and Excel
(openpyxl), built in memory with the libraries govcrawl reads them with.

The PDF's text is drawn in a CID font with a ``ToUnicode`` map (as Chinese government PDFs
are), so a reader recovers the Chinese characters; no font file is embedded.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any


def pdf_bytes(lines: list[str]) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    chars = sorted({ch for line in lines for ch in line})
    cid = {ch: i + 1 for i, ch in enumerate(chars)}
    cmap = DecodedStreamObject()
    mapping = "\n".join(f"<{cid[ch]:04X}> <{ord(ch):04X}>" for ch in chars)
    cmap.set_data(
        (
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
            "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
            f"{len(chars)} beginbfchar\n{mapping}\nendbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end"
        ).encode()
    )
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    descendant = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType0"),
            NameObject("/BaseFont"): NameObject("/STSong-Light"),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
        }
    )
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): NameObject("/STSong-Light"),
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(descendant)]),
            NameObject("/ToUnicode"): writer._add_object(cmap),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    ops = ["BT /F1 14 Tf 18 TL 60 780 Td"]
    for line in lines:
        ops.append("<" + "".join(f"{cid[ch]:04X}" for ch in line) + "> Tj T*")
    ops.append("ET")
    content = DecodedStreamObject()
    content.set_data("\n".join(ops).encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(lines: list[str], table: list[list[str]] | None = None) -> bytes:
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes(rows: list[list[str | int]], title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


OLE2_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@lru_cache(maxsize=512)
def sample_file(name: str) -> bytes:
    """A file of the format its name says, holding its name: what the sample portal serves for
    a file link (old binary formats are an OLE2 header and padding: never read to text)."""
    stem, _, kind = name.rpartition(".")
    kind = kind.lower()
    lines = [stem or name, "各设区市农业农村局：请结合实际认真贯彻执行。"]
    if kind == "pdf":
        return pdf_bytes(lines)
    if kind == "docx":
        return docx_bytes(lines)
    if kind == "xlsx":
        return xlsx_bytes([[line] for line in lines])
    return OLE2_HEADER + b"\x00" * 504


# words that are in no article of the sample, only in the files below
PDF_ONLY_WORD = "鄱阳湖稻渔综合种养示范片"
DOCX_ONLY_WORD = "申报单位盖章确认"
XLSX_ONLY_WORD = "油茶低产林改造面积"


@dataclass
class AttachmentCase:
    path: str
    name: str  # the link's text
    articles: list[str] = field(default_factory=list)  # SampleArticle ids linking it
    outcome: str = "extracted"  # what govcrawl should record


def add_cases(
    portal: Any, server: Any, oversized_bytes: int = 2 * 1024 * 1024
) -> list[AttachmentCase]:
    """Link the sample's attachment cases from a few stored articles and serve them: a PDF
    linked by three articles, the same PDF bytes under a second URL, a Word file linked by three,
    an Excel file, an oversized PDF (``oversized_bytes``), a corrupt (truncated) PDF and a
    file on another host. Returns what each link should become."""
    from html import escape

    from sample_portal.generator import SITE_CODE

    plan_pdf = pdf_bytes(
        ["附件1：水稻病虫害绿色防控技术方案", f"在{PDF_ONLY_WORD}推广生态调控和理化诱控。"]
    )
    form_docx = docx_bytes(
        ["附件2：项目申报表", f"填报后由{DOCX_ONLY_WORD}。"],
        [["单位", "联系人"], ["省植保站", "张明"]],
    )
    area_xlsx = xlsx_bytes(
        [["县（市、区）", XLSX_ONLY_WORD], ["进贤县", 1200], ["余干县", 860]], "汇总"
    )
    base = f"/{SITE_CODE}/bcyb/files"
    cases = [
        AttachmentCase(f"{base}/fkfa2025.pdf", "附件1.pdf"),
        AttachmentCase(f"{base}/fkfa2025-copy.pdf", "附件1（重发）.pdf"),
        AttachmentCase(f"{base}/sbb.docx", "附件2.docx"),
        AttachmentCase(f"{base}/mjhz.xlsx", "附件3.xlsx"),
        AttachmentCase(f"{base}/atlas.pdf", "附件4：病虫害图谱.pdf", outcome="oversized"),
        AttachmentCase(f"{base}/broken.pdf", "附件5.pdf", outcome="corrupt"),
        AttachmentCase("http://files.example.invalid/ext/plan.pdf", "附件6.pdf", outcome="offsite"),
    ]
    server.files[cases[0].path] = ("application/pdf", plan_pdf)
    server.files[cases[1].path] = ("application/pdf", plan_pdf)
    server.files[cases[2].path] = ("application/octet-stream", form_docx)
    server.files[cases[3].path] = ("application/octet-stream", area_xlsx)
    server.files[cases[4].path] = ("application/pdf", b"%PDF-1.7\n" + b"0" * oversized_bytes)
    server.files[cases[5].path] = ("application/pdf", plan_pdf[: len(plan_pdf) // 3])
    stored = [a for a in portal.listing("bcyb") if a.title and a.published and a.paragraphs][:6]
    links = {0: [0, 2], 1: [0, 2, 4], 2: [0, 3], 3: [1, 5], 4: [6], 5: [2]}
    for index, article in enumerate(stored):
        for case_index in links[index]:
            case = cases[case_index]
            article.body_html += f'\n<p><a href="{escape(case.path)}">{escape(case.name)}</a></p>'
            article.paragraphs.append(case.name)
            article.attachments.append(
                {"url": case.path, "name": case.name, "type": case.path.rsplit(".", 1)[-1]}
            )
            case.articles.append(article.id)
    return cases
