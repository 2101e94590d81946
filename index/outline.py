"""Parse a report's outline (一、/（一）/1./（1）/一是…) into sections with spans over the cleaned text.

Run-in headings ("（六）全力整治生态环境。区委深入…") own only their own paragraph; a heading on a
line of its own owns the paragraphs after it until the next heading. So a closing paragraph after the
last run-in section belongs to the part, not to that section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.headings import HEADING_NUMERALS, heading_level
from index.loaders import Block
from index.numerals import cn_to_int
from index.periods import period_of, phase_of
from index.section_path import SectionPath

_ENUM_ITEM = re.compile(rf"(?:(?<=^)|(?<=[。；;]))([{HEADING_NUMERALS}]{{1,3}})是")
_TITLE_CAP = 40


@dataclass
class Section:
    id: int
    level: int
    title: str  # with its number, e.g. "（六）全力整治生态环境"
    parent: int | None
    start: int  # span over the cleaned text, heading included
    end: int
    period: str = ""
    phase: str = ""
    path: list[str] = field(default_factory=list)
    run_in: bool = False  # heading carries its body on the same line

    @property
    def path_text(self) -> str:
        return SectionPath.of(self.path).text


@dataclass
class Piece:
    """A run of text owned directly by one section (None: before any heading)."""

    start: int
    end: int
    section_id: int | None


@dataclass
class Outline:
    text: str
    sections: list[Section]
    pieces: list[Piece]

    def section(self, section_id: int | None) -> Section | None:
        return None if section_id is None else self.sections[section_id]

    def unheaded_pieces(self) -> list[Piece]:
        """Paragraphs with no heading of their own (an opening line, a closing or intro paragraph)."""
        starts = {s.start for s in self.sections}
        return [p for p in self.pieces if p.start not in starts]


def _title_of(line: str) -> tuple[str, bool]:
    """Title runs to the first 。 (or the whole short line); the flag says the body follows inline."""
    cut = re.search(r"[。！？]", line)
    if cut and cut.end() < len(line):
        title = line[: cut.start()]
        return (title if len(title) <= _TITLE_CAP else _short(title)), True
    title = line.rstrip("。！？")
    if len(title) <= _TITLE_CAP:
        return title, False
    return _short(title), True


def _short(title: str) -> str:
    cut = re.search(r"[，,：:]", title)
    return title[: cut.start()] if cut and cut.start() <= _TITLE_CAP else title[:_TITLE_CAP]


def parse_outline(blocks: list[Block]) -> Outline:
    lines = [b for b in blocks if b.text]
    text = "\n".join(b.text for b in lines)
    sections: list[Section] = []
    pieces: list[Piece] = []
    stack: list[Section] = []  # open sections, outermost first

    def open_section(level: int, title: str, start: int, end: int, run_in: bool) -> Section:
        while stack and stack[-1].level >= level:
            stack.pop()
        parent = stack[-1] if stack else None
        section = Section(
            id=len(sections), level=level, title=title, parent=parent.id if parent else None,
            start=start, end=end, run_in=run_in,
            period=period_of(title) or (parent.period if parent else ""),
            phase=phase_of(title, level) or (parent.phase if parent else ""),
            path=(parent.path if parent else []) + [title],
        )
        sections.append(section)
        for ancestor in stack:
            ancestor.end = max(ancestor.end, end)
        stack.append(section)
        return section

    offset = 0
    for block in lines:
        start, end = offset, offset + len(block.text)
        offset = end + 1
        line = block.text
        level = heading_level(line)
        if level is None and block.heading_level is not None:
            level = block.heading_level
        if level is not None:
            title, run_in = _title_of(line)
            if block.heading_level is not None and heading_level(line) is None:
                title, run_in = line[:_TITLE_CAP * 2], False
            section = open_section(level, title, start, end, run_in)
            if run_in:  # a title-only line is carried by the section path, not chunked alone
                _add_enumerated_items(section, line, start, open_section, pieces)
            continue
        # A plain paragraph: run-in sections do not own it, their nearest standalone ancestor does.
        while stack and stack[-1].run_in:
            stack.pop()
        owner = stack[-1] if stack else None
        for ancestor in stack:
            ancestor.end = max(ancestor.end, end)
        pieces.append(Piece(start, end, owner.id if owner else None))
        if owner is not None:
            _add_enumerated_items(owner, line, start, open_section, pieces, skip_head_piece=True)
    return Outline(text, sections, pieces)


def _add_enumerated_items(section, line, line_start, open_section, pieces, skip_head_piece=False):
    """Split "…。一是…。二是…" into child sections; the text before 一是 stays with the section."""
    items = []
    expected = 1
    for match in _ENUM_ITEM.finditer(line):
        if cn_to_int(match.group(1)) == expected:
            items.append(match.start())
            expected += 1
    if not items:
        if not skip_head_piece:
            pieces.append(Piece(line_start, line_start + len(line), section.id))
        return
    if skip_head_piece:
        pieces.pop()  # replace the whole-paragraph piece with finer ones
    if items[0] > 0:
        pieces.append(Piece(line_start, line_start + items[0], section.id))
    parent_level = section.level
    bounds = items + [len(line)]
    for begin, finish in zip(bounds, bounds[1:]):
        item_text = line[begin:finish]
        title, _ = _title_of(item_text)
        child = open_section(max(parent_level + 1, 3), title, line_start + begin, line_start + finish, True)
        pieces.append(Piece(child.start, child.end, child.id))
