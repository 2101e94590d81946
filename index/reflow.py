"""Run-on paragraphs back into lines: what converting a PDF to Word leaves of some reports.

Such a file holds a whole report in one to three paragraphs: line breaks lost, page numbers ("— 9 —")
and stray spaces left inside words and figures ("2023 年", "5 . 5%"), headings inline ("…提出意见。
一、2023年工作回顾2023年是…"). Only paragraphs far longer than any a report writes are touched, so
a normal report is never altered.
"""
from __future__ import annotations

import re

from index.headings import HEADING_NUMERALS
from index.loaders import Block
from index.numerals import cn_to_int
from index.periods import is_part_title

# The longest paragraphs of well-formed reports run to about 2,000 characters.
RUN_ON_CHARS = 4000

_CJK = r"\u4e00-\u9fff"
_PAGE_NUMBER = re.compile(r"[—－-]\s*\d{1,3}\s*[—－-]")
_SPACE_IN_TEXT = re.compile(rf"(?<=[{_CJK}\d%．.])[ \t]+(?=[{_CJK}\d%．.])")
_SENTENCE_END = "。！？；：!?;:"
_CLOSERS = "”’」』）)"
# Where a heading may start: after a sentence end (closing quotes allowed) and any spaces.
_AFTER_SENTENCE = rf"(?<=[{_SENTENCE_END}])[{_CLOSERS}]*\s*"
_LEVEL_1 = re.compile(rf"{_AFTER_SENTENCE}(?P<n>[{HEADING_NUMERALS}]{{1,3}})、(?![{HEADING_NUMERALS}]、)")
_LEVEL_2 = re.compile(rf"{_AFTER_SENTENCE}[（(](?P<n>[{HEADING_NUMERALS}]{{1,3}})[）)]")
# An inline part title: a short run ending in a word of results or plans, or the government's conduct
# ("2023年工作回顾", "2024年工作安排建议", "全面加强政府自身建设"); the body starts right after it.
_PART_TITLE = re.compile(
    rf"[^{_SENTENCE_END}，,\d\s]{{0,8}}?(?:(?:19|20)\d{{2}}年|今年)[^{_SENTENCE_END}，,\d\s]{{0,10}}?"
    r"(?:回顾|安排|任务|计划|目标|建议|重点工作|主要工作|工作重点|各项工作)(?:建议)?"
    rf"|[^{_SENTENCE_END}，,\d\s]{{0,8}}?自身建设")
# A phrase such as "2024年的主要预期目标是：" names a time and a plan word but is a sentence, not a title;
# so is an enumerated point ("六是自身建设持续加强").
_SENTENCE_GOES_ON = re.compile(r"[是为：:，,]")
_ENUMERATED = re.compile(rf"[{HEADING_NUMERALS}]{{1,3}}是")
# A line that ends in a short unfinished sentence ends in a heading ("…加以改进。努力做好2024年各项工作").
_TRAILING_TITLE_CAP = 30
_ADDRESS = re.compile(r"(?<=.)各位代表[：:！!]")
# "各位代表：现在，我代表市人民政府向大会报告工作，请予审议…。2023年是…": the address ends at its first
# full stop; what follows it is the report.
_ADDRESS_RUN_ON = re.compile(r"(各位代表[：:][^。]{0,30}我代表[^。]*。)\s*(?=\S)")
_DATE_LINE = re.compile(r"(?<=[^—－\s])\s*(?=——\s*(?:19|20)\d{2}年)")


def reflow(blocks: list[Block]) -> list[Block]:
    """Blocks with each run-on paragraph split into its lines, and the address to the deputies split
    from the text it ran into; all other blocks as they are."""
    out: list[Block] = []
    for block in blocks:
        if block.heading_level is None and looks_run_on(block.text):
            out.extend(Block(line) for line in split_run_on(block.text))
        elif block.heading_level is None and (address := _ADDRESS_RUN_ON.match(block.text)):
            out += [Block(address.group(1)), Block(block.text[address.end():])]
        else:
            out.append(block)
    return out


def looks_run_on(text: str) -> bool:
    return len(text) > RUN_ON_CHARS


def split_run_on(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.split("\n"):
        line = repair_spacing(raw)
        if line:
            lines.extend(_split_line(line))
    return [line for line in lines if line]


def repair_spacing(line: str) -> str:
    """Drop page numbers and the spaces a PDF conversion put inside words and figures."""
    line = _PAGE_NUMBER.sub("", line)
    line = re.sub(r"(?<=\d)\s*[.．]\s*(?=\d)", ".", line)
    return _SPACE_IN_TEXT.sub("", line).strip()


def _split_line(line: str) -> list[str]:
    cuts = sorted(set(_heading_cuts(line)) | set(_head_cuts(line)))
    pieces = [line[a:b].strip() for a, b in zip([0] + cuts, cuts + [len(line)])]
    out: list[str] = []
    for piece in pieces:
        out.extend(_split_title_from_body(piece))
    if out:
        out[-1:] = _split_trailing_title(out[-1])
    return [p for p in out if p]


def _head_cuts(line: str) -> list[int]:
    """Before the address to the deputies and before a date line, where the report's head ran into them."""
    return [m.start() for m in _ADDRESS.finditer(line)] + [m.end() for m in _DATE_LINE.finditer(line)]


def _heading_cuts(line: str) -> list[int]:
    """Positions where an inline heading starts: 一、 and （一） in their order (a list may restart at
    一), and part titles named by a time and a word of results or plans."""
    found = [(m.start("n"), 1, cn_to_int(m.group("n"))) for m in _LEVEL_1.finditer(line)]
    found += [(m.start("n") - 1, 2, cn_to_int(m.group("n"))) for m in _LEVEL_2.finditer(line)]
    found += [(start, 0, 0) for start in _inline_part_starts(line)]
    cuts: list[int] = []
    expected = {1: 1, 2: 1}
    for start, level, number in sorted(found):
        if level == 0:
            expected[2] = 1
        elif number not in (expected[level], 1):
            continue
        else:
            expected[level] = number + 1
            if level == 1:
                expected[2] = 1
        cuts.append(start)
    return cuts


def _inline_part_starts(line: str) -> list[int]:
    starts = []
    for match in re.finditer(_AFTER_SENTENCE, line):
        title = _PART_TITLE.match(line, match.end())
        if title and _is_inline_part_title(title.group(0)) and not _SENTENCE_GOES_ON.match(line, title.end()):
            starts.append(match.end())
    return starts


def _is_inline_part_title(title: str) -> bool:
    return is_part_title(title) and not _ENUMERATED.match(title)


def _split_title_from_body(piece: str) -> list[str]:
    """"一、2023年工作回顾2023年是…" -> the title and its body; a title with a full stop after it is run-in
    and stays whole."""
    number = re.match(rf"[{HEADING_NUMERALS}]{{1,3}}、", piece)
    start = number.end() if number else 0
    title = _PART_TITLE.match(piece, start)
    if not title or title.end() >= len(piece) or piece[title.end()] in _SENTENCE_END + "，,":
        return [piece]
    if not _is_inline_part_title(title.group(0)) or _SENTENCE_GOES_ON.match(piece, title.end()):
        return [piece]
    return [piece[:title.end()], piece[title.end():].strip()]


def _split_trailing_title(line: str) -> list[str]:
    last_end = max(line.rfind(ch) for ch in _SENTENCE_END)
    tail = line[last_end + 1:].lstrip(_CLOSERS).strip()
    if last_end < 0 or not tail or len(tail) > _TRAILING_TITLE_CAP:
        return [line]
    return [line[:len(line) - len(tail)].strip(), tail]
