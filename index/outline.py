"""Parse a report's outline (一、/（一）/1./（1）/一是…) into sections with spans over the cleaned text.

Run-in headings ("（六）全力整治生态环境。区委深入…") own only their own paragraph; a heading on a
line of its own owns the paragraphs after it until the next heading. So a closing paragraph after the
last run-in section belongs to the part, not to that section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.loaders import Block

_CN_NUM = "一二三四五六七八九十"
_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^[{_CN_NUM}]{{1,3}}、")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]{{1,3}}[）)]")),
    (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]")),
]
_ENUM_ITEM = re.compile(rf"(?:(?<=^)|(?<=[。；;]))([{_CN_NUM}]{{1,3}})是")
_PERIODS = [("上半年", re.compile("上半年")), ("下半年", re.compile("下半年|下一步")),
            ("明年", re.compile("明年|下一年度|来年")), ("全年", re.compile("全年"))]
_TITLE_CAP = 40


def heading_level(line: str) -> int | None:
    for level, pattern in _PATTERNS:
        if pattern.match(line):
            return level
    return None


def looks_like_heading(line: str) -> bool:
    return heading_level(line) is not None


# Whether a part reports results or sets out plans. Part headings say it in many ways ("上半年度工作
#完成情况", "2022年工作回顾", "2023年工作安排"); deeper headings only through a named period.
_DONE = re.compile("完成情况|回顾|总结|成效|成绩|进展情况|上半年|过去一年")
_PLAN = re.compile("计划|安排|打算|部署|思路|展望|目标任务|下半年|下一步|明年|来年|下一年度")
_PHASE_OF_PERIOD = {"上半年": "done", "下半年": "plan", "明年": "plan"}


def phase_of(title: str, level: int) -> str:
    """"done" (results), "plan" (plans) or "" when the heading does not say."""
    if level > 1:
        return _PHASE_OF_PERIOD.get(period_of(title), "")
    done, plan = bool(_DONE.search(title)), bool(_PLAN.search(title))
    return ("done" if done else "plan") if done != plan else ""


def period_of(title: str) -> str:
    for name, pattern in _PERIODS:
        if pattern.search(title):
            return name
    return ""


def cn_to_int(text: str) -> int:
    digits = {c: i + 1 for i, c in enumerate(_CN_NUM)}
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + digits.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return digits[tens] * 10 + (digits[ones] if ones else 0)
    return digits.get(text, 0)


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
        return " > ".join(self.path)


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
