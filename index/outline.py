"""Parse a report's outline (一、/（一）/1./（1）/一是…) into sections with spans over the cleaned text.

Run-in headings ("（六）全力整治生态环境。区委深入…") own only their own paragraph; a heading on a
line of its own owns the paragraphs after it until the next heading. So a closing paragraph after the
last run-in section belongs to the part, not to that section.

Parts (results, plans, the government's own conduct) are often headed by unnumbered lines
("2023年工作回顾"), with the numbered 一、 headings one level down; and a part whose heading is missing
starts where its first paragraph or the lead-in to its list of work does ("重点做好十个方面工作：").
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.headings import HEADING_NUMERALS, heading_level, is_part_heading, without_number
from index.loaders import Block
from index.numerals import cn_to_int
from index.periods import DONE, PLAN, lead_in_phase, names_a_time, opens_plans, opens_review, period_of, phase_of
from index.section_path import SectionPath

_ENUM_ITEM = re.compile(rf"(?:(?<=^)|(?<=[。；;]))([{HEADING_NUMERALS}]{{1,3}})是")
_TITLE_CAP = 40
_OPENING_TITLE_MIN = 8


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


def _opening_title(paragraph: str) -> str:
    """A part's title taken from its opening paragraph: its first clause long enough to say something
    ("2024年是中华人民共和国成立75周年", not "2023年")."""
    clauses = re.findall(r"[^，,：:。！？；]+", paragraph)
    title = ""
    for clause in clauses:
        title = f"{title}，{clause}" if title else clause
        if len(title) >= _OPENING_TITLE_MIN:
            break
    return title[:_TITLE_CAP]


def _short(title: str) -> str:
    cut = re.search(r"[，,：:]", title)
    return title[: cut.start()] if cut and cut.start() <= _TITLE_CAP else title[:_TITLE_CAP]


@dataclass(frozen=True)
class _Heading:
    level: int
    phase: str = ""  # of a part (level 1): what its heading says, or what opened it
    opens_part: bool = False  # a paragraph or lead-in that opens a part: chunked, and owns what follows


def part_heading_indexes(lines: list[Block]) -> tuple[list[int], int]:
    """Which lines head the report's parts, and by how much the numbered levels shift under them.

    Numbered part headings ("一、2023年工作回顾") are used when there are any; otherwise unnumbered
    ones ("2023年工作回顾"), and then 一、 headings are sections inside the parts (one level down)."""
    numbered = [i for i, b in enumerate(lines) if b.heading_level is None and heading_level(b.text) == 1]
    if any(names_a_time(without_number(lines[i].text)) for i in numbered):
        return numbered, 0
    unnumbered = [i for i, b in enumerate(lines) if b.heading_level is None and is_part_heading(b.text)]
    if not unnumbered:
        return numbered, 0
    return unnumbered, 1 if numbered else 0


def _headings(lines: list[Block], review_year: int, plan_year: int) -> dict[int, _Heading]:
    """Each heading line's level (by index), with the parts that open without a heading added."""
    parts, shift = part_heading_indexes(lines)
    found: dict[int, _Heading] = {}
    for i, block in enumerate(lines):
        level = _level_of(block, i in parts, shift)
        if level == 1:
            found[i] = _Heading(1, phase_of(without_number(block.text), 1, review_year, plan_year))
        elif level is not None:
            found[i] = _Heading(level)
    for phase in (DONE, PLAN):
        if all(h.phase != phase for h in found.values()):
            _open_missing_part(lines, found, phase, review_year, plan_year)
    return found


def _level_of(block: Block, is_part: bool, shift: int) -> int | None:
    if is_part:
        return 1
    if block.heading_level is not None:
        return block.heading_level
    level = heading_level(block.text)
    return level + shift if level is not None else None


def _open_missing_part(lines: list[Block], found: dict[int, _Heading], phase: str, review_year: int,
                       plan_year: int) -> None:
    """The first line that opens a part of ``phase`` where no heading does: the lead-in to a list of
    work, or the paragraph that opens the part ("2023年是…", "2024年是…的关键一年"). Plans come after
    any review; a review before any plans."""
    plans = [i for i, h in found.items() if h.level == 1 and h.phase == PLAN]
    reviews = [i for i, h in found.items() if h.level == 1 and h.phase == DONE]
    after = min(reviews) if phase == PLAN and reviews else -1
    before = min(plans) if phase == DONE and plans else len(lines)
    for i in range(after + 1, before):
        if i in found:
            continue
        text = lines[i].text
        opens = opens_plans(text, plan_year) if phase == PLAN else opens_review(text, review_year)
        if lead_in_phase(text) == phase or opens:
            found[i] = _Heading(1, phase, True)
            return


def parse_outline(blocks: list[Block], review_year: int = 0, plan_year: int = 0) -> Outline:
    """The outline of cleaned blocks; the years the report reviews and plans tell its parts apart."""
    lines = [b for b in blocks if b.text]
    text = "\n".join(b.text for b in lines)
    headings = _headings(lines, review_year, plan_year)
    sections: list[Section] = []
    pieces: list[Piece] = []
    stack: list[Section] = []  # open sections, outermost first

    def open_section(level: int, title: str, start: int, end: int, run_in: bool, phase: str = "") -> Section:
        while stack and stack[-1].level >= level:
            stack.pop()
        parent = stack[-1] if stack else None
        section = Section(
            id=len(sections), level=level, title=title, parent=parent.id if parent else None,
            start=start, end=end, run_in=run_in,
            period=period_of(title) or (parent.period if parent else ""),
            phase=phase or phase_of(without_number(title) if level == 1 else title, level, review_year, plan_year)
            or (parent.phase if parent else ""),
            path=(parent.path if parent else []) + [title],
        )
        sections.append(section)
        for ancestor in stack:
            ancestor.end = max(ancestor.end, end)
        stack.append(section)
        return section

    offset = 0
    for index, block in enumerate(lines):
        start, end = offset, offset + len(block.text)
        offset = end + 1
        line = block.text
        heading = headings.get(index)
        if heading is not None and not heading.opens_part:
            title, run_in = _title_of(line)
            if block.heading_level is not None and heading_level(line) is None:
                title, run_in = line[:_TITLE_CAP * 2], False
            section = open_section(heading.level, title, start, end, run_in, heading.phase)
            if run_in:  # a title-only line is carried by the section path, not chunked alone
                _add_enumerated_items(section, line, start, open_section, pieces)
            continue
        if heading is not None:  # a paragraph that opens a part: it heads the part and is chunked in it
            open_section(heading.level, _opening_title(line), start, end, False, heading.phase)
        # A plain paragraph: run-in sections do not own it, their nearest standalone ancestor does;
        # except that a paragraph going on with a list ("二是…") belongs to the section the list is in.
        goes_on_with_list = _ENUM_ITEM.match(line) is not None
        while stack and stack[-1].run_in and not (goes_on_with_list and not _ENUM_ITEM.match(stack[-1].title)):
            stack.pop()
        owner = stack[-1] if stack else None
        for ancestor in stack:
            ancestor.end = max(ancestor.end, end)
        pieces.append(Piece(start, end, owner.id if owner else None))
        if owner is not None:
            first = _next_item_number(sections, owner, line)
            _add_enumerated_items(owner, line, start, open_section, pieces, skip_head_piece=True, first=first)
    return Outline(text, sections, pieces)


def _next_item_number(sections: list[Section], owner: Section, paragraph: str) -> int:
    """The number a paragraph's list goes on from: 1 when it starts one ("一是…"), else one past the
    items its section already has ("二是…" after a paragraph "一是…")."""
    start = _ENUM_ITEM.match(paragraph)
    if start is None or cn_to_int(start.group(1)) == 1:
        return 1
    return 1 + sum(1 for s in sections if s.parent == owner.id and _ENUM_ITEM.match(s.title))


def _add_enumerated_items(section, line, line_start, open_section, pieces, skip_head_piece=False, first=1):
    """Split "…。一是…。二是…" into child sections; the text before 一是 stays with the section.
    ``first`` is the number the paragraph's list starts at."""
    items = []
    expected = first
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
