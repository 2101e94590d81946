"""Which lines are numbered outline headings: 一、 (level 1), （一） (2), 1. (3), （1） (4); and which
unnumbered lines head a part of a report ("2023年工作回顾", "加强政府自身建设").

Its own module because the loaders (rejoining PDF lines), the reflow of run-on text, the outline
parser and the identity reader all need it.
"""
from __future__ import annotations

import re

from index.periods import is_part_title

HEADING_NUMERALS = "一二三四五六七八九十"
_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^[{HEADING_NUMERALS}]{{1,3}}、")),
    (2, re.compile(rf"^[（(][{HEADING_NUMERALS}]{{1,3}}[）)]")),
    (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]")),
]
_PART_HEADING_CAP = 30
# A part heading is a short line of its own: no sentence inside it, not the report's title, date line
# ("——2024年1月16日在…人民代表大会…") or a table row.
_NOT_A_PART_HEADING = re.compile(r"[。；;！!？?：:，,|]|报告|人民代表大会|^[—－\-（(【\[]")


def heading_level(line: str) -> int | None:
    for level, pattern in _PATTERNS:
        if pattern.match(line):
            return level
    return None


def looks_like_heading(line: str) -> bool:
    return heading_level(line) is not None


def without_number(title: str) -> str:
    """The heading's words: "二、2024年工作安排" -> "2024年工作安排"."""
    level = heading_level(title)
    return _PATTERNS[level - 1][1].sub("", title, count=1) if level else title


def is_part_heading(line: str) -> bool:
    """An unnumbered line of its own that heads a part of the report."""
    return (len(line) <= _PART_HEADING_CAP and heading_level(line) is None
            and not _NOT_A_PART_HEADING.search(line) and is_part_title(line))
