"""Which lines are numbered outline headings: 一、 (level 1), （一） (2), 1. (3), （1） (4).

Its own module because both the loaders (rejoining PDF lines) and the outline parser need it.
"""
from __future__ import annotations

import re

HEADING_NUMERALS = "一二三四五六七八九十"
_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^[{HEADING_NUMERALS}]{{1,3}}、")),
    (2, re.compile(rf"^[（(][{HEADING_NUMERALS}]{{1,3}}[）)]")),
    (3, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]")),
]


def heading_level(line: str) -> int | None:
    for level, pattern in _PATTERNS:
        if pattern.match(line):
            return level
    return None


def looks_like_heading(line: str) -> bool:
    return heading_level(line) is not None
