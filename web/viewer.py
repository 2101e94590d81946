"""The report viewer: a whole report as indexed, with its outline, scrolled to one passage, highlighted.

Built from the stored chunks alone (their text, offsets and section paths), so it shows exactly what the
answers quote, whether or not the file is still on disk. Every piece of text is HTML-escaped; the page
needs no script.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from index.section_path import SectionPath

_AT = re.compile(r"^(\d{1,9})-(\d{1,9})$")
_HEADING_END = re.compile(r"^[。：:；;，,\s]+")
HERE = ' aria-current="location" class="qa-here"'  # an outline entry holding the passage


@dataclass
class Heading:
    level: int  # 1 for a part ("一、…"), 2 for its sections, and so on
    title: str
    anchor: str
    holds_passage: bool = False  # the passage asked for sits under this heading


@dataclass
class Block:
    """One paragraph of the report: runs of text, each marked when it is the passage asked for."""
    runs: list[tuple[str, bool]] = field(default_factory=list)
    anchor: str = ""  # "passage" on the block where the passage starts


def parse_at(value: str | None) -> tuple[int, int] | None:
    """``"64-361"`` → (64, 361); anything else → None (the report shows from the top)."""
    match = _AT.match(value or "")
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if start < end else None


def _overlaps(chunk, at: tuple[int, int] | None) -> bool:
    return at is not None and chunk.meta.start < at[1] and at[0] < chunk.meta.end


def report_layout(chunks: list, at: tuple[int, int] | None) -> tuple[list[Heading], list[Heading | Block]]:
    """The outline and the body (headings and paragraphs, in report order) from a report's chunks."""
    outline: list[Heading] = []
    body: list[Heading | Block] = []
    current: tuple[str, ...] = ()
    open_headings: list[Heading] = []  # the headings the text now sits under, outermost first
    previous_end, marked = None, False
    for chunk in sorted(chunks, key=lambda c: c.meta.start):
        path = SectionPath.parse(chunk.meta.section_path).parts
        text = chunk.text
        if path != current:
            shared = next((i for i, (a, b) in enumerate(zip(path, current)) if a != b), min(len(path), len(current)))
            del open_headings[shared:]
            for level, title in enumerate(path[shared:], start=shared + 1):
                heading = Heading(level, title, f"s{len(outline) + 1}")
                outline.append(heading)
                open_headings.append(heading)
                body.append(heading)
                if text.startswith(title):  # a heading inline with its first paragraph is shown once
                    text = _HEADING_END.sub("", text[len(title):])
            current, previous_end = path, None
        hit = _overlaps(chunk, at)
        if previous_end is None or chunk.meta.start > previous_end or not isinstance(body[-1], Block):
            body.append(Block())
        block = body[-1]
        if hit and not marked:
            block.anchor, marked = "passage", True
            for heading in open_headings:
                heading.holds_passage = True
        for i, line in enumerate(text.split("\n")):
            if i:
                body.append(block := Block())
            if line:
                block.runs.append((line, hit))
        previous_end = chunk.meta.end
    return outline, [b for b in body if not isinstance(b, Block) or b.runs]


def _outline_html(outline: list[Heading]) -> str:
    items = "".join(f'<li class="lv{min(h.level, 3)}"><a href="#{h.anchor}"'
                    f'{HERE if h.holds_passage else ""}>{html.escape(h.title)}</a></li>' for h in outline)
    return f"<ol>{items}</ol>" if items else "<p>这份报告没有识别出章节。</p>"


def _body_html(body: list[Heading | Block]) -> str:
    parts = []
    for item in body:
        if isinstance(item, Heading):
            tag = f"h{min(item.level + 1, 4)}"
            parts.append(f'<{tag} id="{item.anchor}">{html.escape(item.title)}</{tag}>')
            continue
        runs = "".join(f"<mark>{html.escape(text)}</mark>" if hit else html.escape(text) for text, hit in item.runs)
        anchor = f' id="{item.anchor}" tabindex="-1"' if item.anchor else ""
        parts.append(f"<p{anchor}>{runs}</p>")
    return "\n".join(parts)


def _facts(meta) -> list[str]:
    """Place, year and file of the report: what its chunks' metadata knows."""
    place, year = getattr(meta, "doc_place", ""), getattr(meta, "doc_year", 0)
    return [p for p in (place, f"{year}年" if year else "") if p] + [f"文件 {meta.doc_id}"]


def report_html(chunks: list, at: tuple[int, int] | None, css: str) -> str:
    """The viewer page for one report, from all its chunks."""
    outline, body = report_layout(chunks, at)
    meta = chunks[0].meta
    title = html.escape(meta.doc_title or meta.doc_id)
    facts = _facts(meta)
    notes = []
    if at and any(isinstance(b, Block) and b.anchor for b in body):
        notes.append("高亮部分是回答引用的原文。")
    if any(c.meta.masked for c in chunks):
        notes.append("带 * 的数字报告未公开。")
    note = f'<p class="qa-note">{"".join(notes)}</p>' if notes else ""
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 原文</title>
<style>{css}</style>
</head>
<body>
<header class="qa-top">
  <a class="qa-back" href="../">← 返回问答</a>
  <h1>{title}</h1>
  <p class="qa-facts">{html.escape(" · ".join(facts))}</p>
  {note}
</header>
<div class="qa-layout">
  <nav class="qa-outline-wide" aria-label="目录"><h2>目录</h2>{_outline_html(outline)}</nav>
  <nav class="qa-outline-narrow" aria-label="目录"><details><summary>目录</summary>{_outline_html(outline)}</details></nav>
  <main>
{_body_html(body)}
  </main>
</div>
</body>
</html>"""


def not_found_html(css: str) -> str:
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>没有找到这份报告</title><style>{css}</style></head>
<body><header class="qa-top"><a class="qa-back" href="../">← 返回问答</a><h1>没有找到这份报告</h1>
<p>它可能已被删除或替换。请回到问答页重新提问。</p></header></body></html>"""
