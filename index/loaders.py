"""Read report files into paragraphs (blocks) under limits; every failure is a LoadError naming file and reason."""
from __future__ import annotations

import logging
import posixpath
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import UserFacingError
from index.headings import looks_like_heading

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx", ".pdf")
_MB = 1024 * 1024  # QA_MAX_FILE_MB counts in MiB, as the cap is computed


class LoadError(UserFacingError):
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


@dataclass(frozen=True)
class LoadLimits:
    """What loading one file may cost. Checked before the expensive work, and again while it runs."""

    max_seconds: float = 60.0
    max_paragraphs: int = 20_000
    max_pdf_pages: int = 500
    max_text_chars: int = 2_000_000
    max_unpacked_bytes: int = 50 * _MB  # a docx's zip members together (so each one too)
    # Word's XML packs about 10:1; a zip bomb packs 1000:1. Members under 1 MiB are harmless either way.
    max_compression_ratio: float = 100.0
    max_zip_members: int = 10_000
    # XML elements parsed but not yet handed over: bounds the memory one paragraph or table can take.
    max_held_elements: int = 500_000

    @classmethod
    def from_settings(cls, settings) -> LoadLimits:
        """The user-facing limits from an ``IndexSettings`` (``QA_MAX_*``); the rest keep their defaults."""
        return cls(max_seconds=settings.max_load_seconds, max_paragraphs=settings.max_paragraphs,
                   max_pdf_pages=settings.max_pdf_pages, max_text_chars=settings.max_text_chars,
                   max_unpacked_bytes=int(settings.max_unpacked_mb * _MB))


class _Budget:
    """What one load has used so far; refuses to go past the limits or the deadline."""

    def __init__(self, path: Path, limits: LoadLimits):
        self.path = path
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.paragraphs = 0
        self.chars = 0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            seconds = f"{self.limits.max_seconds:g}"
            raise LoadError(self.path, f"loading took over {seconds} s",
                            f"文件处理超时（超过 {seconds} 秒），请检查文件或拆分后再上传")

    def count_paragraph(self) -> None:
        self.paragraphs += 1
        if self.paragraphs > self.limits.max_paragraphs:
            cap = self.limits.max_paragraphs
            raise LoadError(self.path, f"too many paragraphs (over {cap})", f"段落过多（超过 {cap} 段）")
        self.check_time()

    def count_chars(self, count: int) -> None:
        self.chars += count
        self.check_chars(self.chars)

    def check_chars(self, total: int) -> None:
        cap = self.limits.max_text_chars
        if total > cap:
            raise LoadError(self.path, f"too much text (over {cap} characters)", f"文字过多（超过 {cap} 字）")

    def block(self, text: str, heading_level: int | None = None) -> Block:
        self.count_paragraph()
        self.count_chars(len(text))
        return Block(text, heading_level)


_CORRUPT_ZH = {".txt": "文件无法读取", ".md": "文件无法读取",
               ".docx": "docx 文件已损坏或不是有效的 Word 文档", ".pdf": "PDF 文件已损坏，无法读取"}


def load_document(path: Path | str, max_bytes: int, limits: LoadLimits | None = None) -> LoadedDocument:
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
    try:
        doc = loader(path, _Budget(path, limits or LoadLimits()))
    except LoadError:
        raise
    except Exception as exc:  # a broken file can make any parser fail in any way; users get one reason
        log.warning("cannot load %s: %r", path.name, exc)
        raise LoadError(path, f"corrupt {suffix[1:]}: {exc!r}", _CORRUPT_ZH[suffix]) from exc
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


def _read_text(path: Path, budget: _Budget) -> list[str]:
    text = decode_text(path, path.read_bytes())
    budget.check_chars(len(text))  # before splitting, so a huge file is refused whole
    return text.splitlines()


def _load_text(path: Path, budget: _Budget) -> LoadedDocument:
    return LoadedDocument(path, path.stem, [budget.block(line) for line in _read_text(path, budget)])


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _load_markdown(path: Path, budget: _Budget) -> LoadedDocument:
    blocks: list[Block] = []
    for line in _read_text(path, budget):
        match = _MD_HEADING.match(line)
        if match:
            blocks.append(budget.block(match.group(2), heading_level=len(match.group(1))))
        else:
            blocks.append(budget.block(line))
    return LoadedDocument(path, path.stem, blocks)


# --- docx: read as a stream from the zip, never the whole package in memory ----------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_DC_TITLE = "{http://purl.org/dc/elements/1.1/}title"
_HEADING_STYLE = re.compile(r"(?:heading|标题)\s*(\d)", re.IGNORECASE)
_RATIO_FLOOR = _MB
_DOCX_CORRUPT_ZH = _CORRUPT_ZH[".docx"]


def _load_docx(path: Path, budget: _Budget) -> LoadedDocument:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoadError(path, f"not a valid docx (zip) file: {exc}", _DOCX_CORRUPT_ZH) from exc
    with archive:
        _check_archive(path, archive.infolist(), budget.limits)
        main = _relationship_target(archive, "", "officeDocument", budget)
        if main is None or main not in archive.NameToInfo:
            raise LoadError(path, "corrupt docx: no main document part", _DOCX_CORRUPT_ZH)
        styles_part = _relationship_target(archive, main, "styles", budget)
        styles = _read_styles(archive, styles_part, budget)
        core_title = _core_title(archive, budget)
        body_title, blocks = _read_body(_XmlStream(archive, main, budget), styles, budget)
    return LoadedDocument(path, core_title or body_title or path.stem, blocks)


def _check_archive(path: Path, members: list[zipfile.ZipInfo], limits: LoadLimits) -> None:
    """Refuse zip bombs from the central directory alone, before anything is unpacked."""
    if len(members) > limits.max_zip_members:
        raise LoadError(path, f"zip has {len(members)} members (cap {limits.max_zip_members})",
                        f"文件内部结构异常（包含 {len(members)} 个部件，上限 {limits.max_zip_members} 个），可能是异常文件")
    total = sum(member.file_size for member in members)
    if total > limits.max_unpacked_bytes:
        raise LoadError(path, f"unpacks to {total} bytes (cap {limits.max_unpacked_bytes})",
                        f"文件解压后过大（约 {total / _MB:.0f} MB，上限 {limits.max_unpacked_bytes / _MB:.0f} MB），可能是异常文件")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > limits.max_compression_ratio:
            raise LoadError(path, f"{member.filename} compressed {ratio:.0f}:1 (cap {limits.max_compression_ratio:g}:1)",
                            f"文件压缩比异常（约 {ratio:.0f}:1），可能是异常文件")


class _XmlStream:
    """One zip member parsed as a stream of closing elements, entities and DTDs off.

    The caller ``release``s each element it has used; more than ``max_held_elements`` parsed and not
    released (a giant paragraph or table, or junk the caller never looks at) is refused.
    """

    def __init__(self, archive: zipfile.ZipFile, name: str, budget: _Budget):
        self.archive = archive
        self.name = name
        self.budget = budget
        self.held = 0

    def __iter__(self) -> Iterator:
        from lxml import etree

        with self.archive.open(self.name) as stream:
            events = etree.iterparse(stream, events=("end",), resolve_entities=False, no_network=True,
                                     load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True)
            for seen, (_, element) in enumerate(events, 1):
                self.held += 1
                if self.held > self.budget.limits.max_held_elements:
                    raise LoadError(self.budget.path, f"{self.name}: over {self.held - 1} XML elements in one block",
                                    "文档结构异常（单个段落或表格过于复杂），可能是异常文件")
                if seen % 1024 == 0:
                    self.budget.check_time()
                yield element

    def release(self, element) -> None:
        """Drop ``element``'s content and the siblings before it: they are read."""
        element.clear(keep_tail=True)
        parent = element.getparent()
        if parent is not None:
            while element.getprevious() is not None:
                del parent[0]
        self.held = 0


def _relationship_target(archive: zipfile.ZipFile, source: str, kind: str, budget: _Budget) -> str | None:
    """The member a relationship of ``kind`` from part ``source`` ("" for the package) points at."""
    folder, name = posixpath.split(source)
    rels = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels not in archive.NameToInfo:
        return None
    stream = _XmlStream(archive, rels, budget)
    for element in stream:
        if element.tag == _RELATIONSHIP:
            kind_matches = (element.get("Type") or "").endswith("/" + kind)
            target = element.get("Target") or ""
            if kind_matches and target and element.get("TargetMode") != "External":
                return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            stream.release(element)
    return None


@dataclass
class _Styles:
    """Paragraph style names by id, resolved the way Word does: unknown ids get the default style."""

    by_id: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (type, name)
    default_name: str | None = None

    def name_of(self, style_id: str | None) -> str | None:
        kind, name = self.by_id.get(style_id or "", ("", None))
        return name if kind == "paragraph" else self.default_name


def _read_styles(archive: zipfile.ZipFile, name: str | None, budget: _Budget) -> _Styles:
    styles = _Styles()
    if name is None or name not in archive.NameToInfo:
        return styles
    stream = _XmlStream(archive, name, budget)
    for element in stream:
        parent = element.getparent()
        if parent is None or parent.getparent() is not None:
            continue  # only the top-level entries of w:styles
        if element.tag == _W + "style":
            kind = element.get(_W + "type") or "paragraph"
            name_element = element.find(_W + "name")
            style_name = name_element.get(_W + "val") if name_element is not None else None
            styles.by_id.setdefault(element.get(_W + "styleId") or "", (kind, style_name))
            if element.get(_W + "type") == "paragraph" and element.get(_W + "default") == "1":
                styles.default_name = style_name
        stream.release(element)
    return styles


def _core_title(archive: zipfile.ZipFile, budget: _Budget) -> str:
    name = _relationship_target(archive, "", "core-properties", budget)
    if name is None or name not in archive.NameToInfo:
        return ""
    stream = _XmlStream(archive, name, budget)
    for element in stream:
        if element.tag == _DC_TITLE:
            return (element.text or "").strip()
        if element.getparent() is not None and element.getparent().getparent() is None:
            stream.release(element)
    return ""


def _read_body(stream: _XmlStream, styles: _Styles, budget: _Budget) -> tuple[str, list[Block]]:
    """Walk the body in order so tables stay where they appear; returns (Title-style text, blocks)."""
    title = ""
    blocks: list[Block] = []
    for element in stream:
        if element.tag == _W + "p":
            budget.count_paragraph()  # every paragraph, table cells too
        parent = element.getparent()
        if parent is None or parent.tag != _W + "body":
            continue
        if element.tag == _W + "p":
            text = _paragraph_text(element)
            style = styles.name_of(_paragraph_style_id(element)) or ""
            if style in ("Title", "标题") and text.strip():
                title = title or text.strip()  # the document's own title, not a part of its outline
            else:
                match = _HEADING_STYLE.search(style)
                budget.count_chars(len(text))
                blocks.append(Block(text, int(match.group(1)) if match else None))
        elif element.tag == _W + "tbl":
            for row in _table_rows(element):
                budget.count_chars(len(row))
                blocks.append(Block(row))
        stream.release(element)
    return title, blocks


def _paragraph_style_id(paragraph) -> str | None:
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")
    return style.get(_W + "val") if style is not None else None


_RUN_SYMBOLS = {_W + "tab": "\t", _W + "ptab": "\t", _W + "cr": "\n", _W + "noBreakHyphen": "-"}


def _paragraph_text(paragraph) -> str:
    """Text of the paragraph's runs, hyperlinked ones included, tabs and line breaks kept."""
    parts: list[str] = []
    for child in paragraph:
        runs = [child] if child.tag == _W + "r" else child.findall(_W + "r") if child.tag == _W + "hyperlink" else []
        for run in runs:
            for item in run:
                if item.tag == _W + "t":
                    parts.append(item.text or "")
                elif item.tag == _W + "br":
                    parts.append("\n" if item.get(_W + "type", "textWrapping") == "textWrapping" else "")
                else:
                    parts.append(_RUN_SYMBOLS.get(item.tag, ""))
    return "".join(parts)


def _table_rows(table) -> Iterator[str]:
    """Each row's distinct cell texts joined by " | "; merged cells count once."""
    above: dict[int, str] = {}  # grid column -> text, for cells that continue a vertical merge
    for row in table.iterchildren(_W + "tr"):
        current: dict[int, str] = {}
        column = _grid_number(row.find(f"{_W}trPr/{_W}gridBefore"), 0)
        cells: list[str] = []
        for cell in row.iterchildren(_W + "tc"):
            span = _grid_number(cell.find(f"{_W}tcPr/{_W}gridSpan"), 1)
            merge = cell.find(f"{_W}tcPr/{_W}vMerge")
            if merge is not None and merge.get(_W + "val", "continue") == "continue":
                value = above.get(column, "")
            else:
                value = "\n".join(_paragraph_text(p) for p in cell.iterchildren(_W + "p")).strip()
            for offset in range(span):
                current[column + offset] = value
            column += span
            if value and (not cells or cells[-1] != value):  # a cell spanning columns repeats
                cells.append(value)
        above = current
        if cells:
            yield " | ".join(cells)


def _grid_number(element, default: int) -> int:
    """A gridSpan/gridBefore value, kept to what a real table can have."""
    value = element.get(_W + "val") if element is not None else None
    return min(int(value), 64) if value and value.isdecimal() and len(value) <= 4 else default


# --- pdf ----------------------------------------------------------------------------------

# A wrapped PDF line ends a paragraph only after sentence-final punctuation (closing quotes allowed).
_PARAGRAPH_END = re.compile(r"[。！？；：][”’」』）)]*$")
# A heading on a line of its own: short, and no sentence ends inside it (a run-in heading such as
# "（一）经济发展稳中向好。全区…" wraps onto the next line like any other paragraph).
_SENTENCE_INSIDE = re.compile(r"[。！？；]")


def _load_pdf(path: Path, budget: _Budget) -> LoadedDocument:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    count, cap = len(reader.pages), budget.limits.max_pdf_pages
    if count > cap:
        raise LoadError(path, f"{count} pages (cap {cap})", f"页数过多（{count} 页，上限 {cap} 页）")
    pages: list[str] = []
    for page in reader.pages:
        budget.check_time()
        pages.append(page.extract_text() or "")
        budget.check_chars(sum(len(text) for text in pages))
    if not any(p.strip() for p in pages):
        raise LoadError(path, "pdf has no text layer (scanned?)", "PDF 中没有文字层（可能是扫描件），请先做文字识别")
    return LoadedDocument(path, _pdf_title(reader) or path.stem, [budget.block(p) for p in _join_pdf_lines(pages)])


def _pdf_title(reader) -> str:
    try:
        return str(reader.metadata.title).strip() if reader.metadata and reader.metadata.title else ""
    except Exception:  # broken metadata must not block the text
        return ""


def _join_pdf_lines(pages: list[str]) -> list[str]:
    """PDF text wraps mid-sentence; rejoin lines into paragraphs at sentence ends and headings."""
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
