"""Read report files into paragraphs (blocks); every failure is a LoadError naming file and reason."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
_MB = 1024 * 1024  # QA_MAX_FILE_MB counts in MiB, as the cap is computed


class LoadError(Exception):
    """A file that cannot be indexed; ``reason_zh`` is shown to users, str() goes to logs."""

    def __init__(self, path: Path | str, reason: str, reason_zh: str):
        self.path = Path(path)
        self.reason = reason
        self.reason_zh = reason_zh
        super().__init__(f"{self.path.name}: {reason}")

    @property
    def message_zh(self) -> str:
        return f"文件“{self.path.name}”无法导入：{self.reason_zh}"


@dataclass
class Block:
    """One paragraph; ``heading_level`` is set when the source marks it as a heading (md #, docx style)."""

    text: str
    heading_level: int | None = None


@dataclass
class LoadedDocument:
    path: Path
    title: str
    blocks: list[Block] = field(default_factory=list)


def load_document(path: Path | str, max_bytes: int) -> LoadedDocument:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(path, f"unsupported file type {suffix or '(none)'}",
                        f"不支持的文件类型（{suffix or '无扩展名'}），请上传 txt、md、docx 或 pdf")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc}", "文件无法读取") from exc
    if size == 0:
        raise LoadError(path, "file is empty", "文件是空的")
    if size > max_bytes:
        raise LoadError(path, f"file too large ({size} bytes > {max_bytes})",
                        f"文件过大（{size / _MB:.1f} MB，上限 {max_bytes / _MB:.1f} MB）")
    loader = {".txt": _load_text, ".md": _load_markdown, ".docx": _load_docx, ".pdf": _load_pdf}[suffix]
    doc = loader(path)
    if not any(b.text.strip() for b in doc.blocks):
        raise LoadError(path, "no text found", "文件中没有可读取的文字")
    return doc


def decode_text(path: Path, data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # "Unicode" as Windows Notepad saves it
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(path, f"invalid UTF-16: {exc}", "无法识别文件编码（支持 UTF-8、UTF-16、GBK/GB18030）") from exc
    if b"\x00" in data[:8192]:
        raise LoadError(path, "binary content (NUL bytes)", "文件内容不是文本（可能是二进制文件）")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text
    raise LoadError(path, "cannot decode as UTF-8 or GB18030", "无法识别文件编码（支持 UTF-8、GBK/GB18030）")


def _looks_like_text(text: str) -> bool:
    # GB18030 decodes most byte soup; reject results full of control or private-use characters.
    sample = text[:20000]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\r\n\t\f") or 0xE000 <= ord(ch) <= 0xF8FF)
    return bad <= max(2, len(sample) // 100)


def _load_text(path: Path) -> LoadedDocument:
    text = decode_text(path, path.read_bytes())
    return LoadedDocument(path, path.stem, [Block(line) for line in text.splitlines()])


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _load_markdown(path: Path) -> LoadedDocument:
    text = decode_text(path, path.read_bytes())
    blocks: list[Block] = []
    title = path.stem
    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            level = len(match.group(1))
            blocks.append(Block(match.group(2), heading_level=level))
        else:
            blocks.append(Block(line))
    return LoadedDocument(path, title, blocks)


_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*(\d)", re.IGNORECASE)


def _load_docx(path: Path) -> LoadedDocument:
    import docx  # python-docx; imported here so text-only use stays light
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(path):
        raise LoadError(path, "not a valid docx (zip) file", "docx 文件已损坏或不是有效的 Word 文档")
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise LoadError(path, f"corrupt docx: {exc}", "docx 文件已损坏或不是有效的 Word 文档") from exc
    title = (document.core_properties.title or "").strip()
    blocks: list[Block] = []
    # Walk the body in order so tables stay where they appear.
    for element in document.element.body.iterchildren():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(element, document)
            style = paragraph.style.name if paragraph.style is not None else ""
            if style in ("Title", "标题") and paragraph.text.strip():
                # The document's own title, not a part of its outline.
                title = title or paragraph.text.strip()
                continue
            match = _HEADING_STYLE.search(style or "")
            level = int(match.group(1)) if match else None
            blocks.append(Block(paragraph.text, heading_level=level))
        elif tag == "tbl":
            table = docx.table.Table(element, document)
            for row in table.rows:
                cells = []
                for cell in row.cells:
                    value = cell.text.strip()
                    if value and (not cells or cells[-1] != value):  # merged cells repeat
                        cells.append(value)
                if cells:
                    blocks.append(Block(" | ".join(cells)))
    return LoadedDocument(path, title or path.stem, blocks)


# A wrapped PDF line ends a paragraph only after sentence-final punctuation (closing quotes allowed).
_PARAGRAPH_END = re.compile(r"[。！？；：][”’」』）)]*$")
# A heading on a line of its own: short, and no sentence ends inside it (a run-in heading such as
# "（一）经济发展稳中向好。全区…" wraps onto the next line like any other paragraph).
_SENTENCE_INSIDE = re.compile(r"[。！？；]")


def _load_pdf(path: Path) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError, TypeError) as exc:
        raise LoadError(path, f"corrupt pdf: {exc}", "PDF 文件已损坏，无法读取") from exc
    except Exception as exc:  # pypdf raises a wide range of errors on broken files
        raise LoadError(path, f"corrupt pdf: {exc!r}", "PDF 文件已损坏，无法读取") from exc
    if not any(p.strip() for p in pages):
        raise LoadError(path, "pdf has no text layer (scanned?)", "PDF 中没有文字层（可能是扫描件），请先做文字识别")
    title = path.stem
    try:
        if reader.metadata and reader.metadata.title:
            title = str(reader.metadata.title).strip() or title
    except Exception:  # broken metadata must not block the text
        pass
    return LoadedDocument(path, title, [Block(p) for p in _join_pdf_lines(pages)])


def _join_pdf_lines(pages: list[str]) -> list[str]:
    """PDF text wraps mid-sentence; rejoin lines into paragraphs at sentence ends and headings."""
    from index.outline import looks_like_heading

    paragraphs: list[str] = []
    current = ""
    for page in pages:
        for raw in page.splitlines():
            line = raw.strip()
            if not line:
                continue
            ends_paragraph = bool(_PARAGRAPH_END.search(current)) or (
                looks_like_heading(current) and len(current) <= 40 and not _SENTENCE_INSIDE.search(current))
            if current and (looks_like_heading(line) or ends_paragraph):
                paragraphs.append(current)
                current = line
            else:
                current += line
    if current:
        paragraphs.append(current)
    return paragraphs
