"""How an answer reads in the chat, and back: Markdown for the screen, plain text for the clipboard.

On screen an answer is the writer's lead paragraph, its "- … [n]" list folded after a few items behind
「展开全部」, every ``[n]`` a link to the passage in the report viewer, then the sources by report title.
Everything that came from a person or a document is escaped, so only our own markup renders. The copy
button and the feedback store get the plain text back (``plain_answer``), the whole list included.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, unquote, urlsplit

from bot.types import Answer, Source
from index.section_path import SectionPath

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~$:])")  # ":" too, so no URL is auto-linked
_MD_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#!|~$:])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")
# Bounded and possessive: these also read chat messages a client sends back, so no input makes them slow.
_CITE_LINK = re.compile(r"\[\\\[(\d{1,3})\\\]\]\([^)\s]{0,400}+(?: \"[^\"]{0,600}+\")?\)")
_SOURCE_LINE = re.compile(r"^\\\[(\d{1,3})\\\] \[(.{0,600})\]\(([^)\s]{0,400}+)\)$")
_ITEM = re.compile(r"^- ", re.MULTILINE)
_BOLD_LINE = re.compile(r"\*\*([^*\n]+)\*\*")
_FOLD_OPEN = re.compile(r"\n<details><summary>展开全部（共 \d+ 条）</summary>\n\n")
FOLD_CLOSE = "\n\n</details>\n"
_REWRITTEN = re.compile(r"^（已按“.*?”理解）\n\n")
SOURCES_HEADING = "**来源**"
NEARBY_HEADING = "**相近章节**"  # a refusal's sources: where to look, not what it quotes
NAME_SEPARATOR = " · "  # between a report's title and the section
FOLD_AFTER = 5  # list items shown before 「展开全部」
FOLD_MIN_HIDDEN = 2  # folding away a single item saves nothing


def md_escape(text: str) -> str:
    """Make text render literally in Markdown (HTML and Markdown syntax alike); reversed by ``md_unescape``."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_unescape(text: str) -> str:
    text = _MD_ESCAPED.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def section_label(section: str) -> str:
    return SectionPath.parse(section).label()


def source_name(source: Source) -> str:
    """"丽水市2024年政府工作报告 · 一、… › （三）…": the report by its title, then the section."""
    label = section_label(source.section)
    return f"{source.title or source.doc}{NAME_SEPARATOR + label if label else ''}"


def passage_link(source: Source, viewer_base: str) -> str:
    """The report viewer, scrolled to the passage: ``<base>reports/<doc>?at=<start>-<end>#passage``."""
    return f"{viewer_base}reports/{quote(source.doc, safe='')}?at={source.start}-{source.end}#passage"


# --- Markdown for the screen -------------------------------------------------------------------
def answer_markdown(answer: Answer, viewer_base: str = "", rewritten: str = "") -> str:
    """The whole chat message for a finished answer: note, body, sources."""
    blocks = []
    if rewritten:
        blocks.append(f"（已按“{md_escape(rewritten)}”理解）")
    blocks.append(_folded(_linked(_escaped_lines(answer.answer), answer.sources, viewer_base)))
    if answer.sources:
        lines = [f"\\[{s.n}\\] [{md_escape(source_name(s))}]({passage_link(s, viewer_base)})" for s in answer.sources]
        blocks.append((NEARBY_HEADING if answer.refused else SOURCES_HEADING) + "\n" + "\n".join(lines))
    return "\n\n".join(blocks)


def _escaped_lines(text: str) -> str:
    """The answer escaped line by line; a line the writer wraps whole in ``**`` (a report's heading in a
    grouped answer) stays bold. A masked figure (``**亿元``) never fills a line on its own."""
    return "\n".join(f"**{md_escape(m.group(1))}**" if (m := _BOLD_LINE.fullmatch(line)) else md_escape(line)
                     for line in text.split("\n"))


def _linked(escaped: str, sources: list[Source], viewer_base: str) -> str:
    """Each escaped ``\\[n\\]`` of a listed source becomes a link to its passage."""
    by_number = {s.n: s for s in sources}

    def link(match: re.Match) -> str:
        source = by_number.get(int(match.group(1)))
        if source is None:
            return match.group(0)
        title = md_escape(f"来源 {source.n}：{source_name(source)}").replace('"', "”")
        return f'[{match.group(0)}]({passage_link(source, viewer_base)} "{title}")'

    return _ESCAPED_MARKER.sub(link, escaped)


def _fold_open(items: int) -> str:
    return f"\n<details><summary>展开全部（共 {items} 条）</summary>\n\n"


def _folded(body: str) -> str:
    """The list items after the fifth, with whatever sits between them, behind 「展开全部」; lines after
    the last item (the masking note) stay in view. Only the fold is added, so ``read_shown`` takes it off."""
    starts = [m.start() for m in _ITEM.finditer(body)]
    if len(starts) < FOLD_AFTER + FOLD_MIN_HIDDEN:
        return body
    first, last_end = starts[FOLD_AFTER], body.find("\n", starts[-1])
    last_end = len(body) if last_end < 0 else last_end
    return body[:first] + _fold_open(len(starts)) + body[first:last_end] + FOLD_CLOSE + body[last_end:]


# --- plain text back, for the clipboard and the feedback store ---------------------------------
@dataclass
class ShownAnswer:
    text: str  # the answer as the bot wrote it
    sources: list[dict]  # n, doc, title (the report's), section (as shown), start, end
    heading: str = "来源"  # what the sources are: 来源, or 相近章节 under a refusal


def _split_sources(markdown: str) -> tuple[str, str, str]:
    for heading in (SOURCES_HEADING, NEARBY_HEADING):
        body, found, block = markdown.partition(f"\n\n{heading}\n")
        if found:
            return body, heading.strip("*"), block
    return markdown, "来源", ""


def read_shown(markdown: str) -> ShownAnswer:
    """The answer and its sources from a chat message built by ``answer_markdown`` (or a plain reply)."""
    body, heading, sources_block = _split_sources(markdown)
    body = _FOLD_OPEN.sub("", _REWRITTEN.sub("", body, count=1), count=1).replace(FOLD_CLOSE, "", 1)
    text = md_unescape(_CITE_LINK.sub(lambda m: f"\\[{m.group(1)}\\]", body))
    sources = [_source_of(line) for line in sources_block.split("\n") if _SOURCE_LINE.match(line)]
    return ShownAnswer(text, sources, heading)


def _source_of(line: str) -> dict:
    n, name, url = _SOURCE_LINE.match(line).groups()
    parts = urlsplit(url)
    start, _, end = (parse_qs(parts.query).get("at", [""])[0]).partition("-")
    title, _, section = md_unescape(name).partition(NAME_SEPARATOR)
    source = {"n": int(n), "doc": unquote(parts.path.rsplit("/", 1)[-1]), "title": title, "section": section}
    if start.isdigit() and end.isdigit():
        source.update(start=int(start), end=int(end))
    return source


def plain_answer(markdown: str) -> str:
    """What the copy button puts on the clipboard: the whole answer, then where it comes from."""
    shown = read_shown(markdown)
    if not shown.sources:
        return shown.text
    names = [s["title"] + (NAME_SEPARATOR + s["section"] if s["section"] else "") for s in shown.sources]
    return "\n".join([shown.text, "", f"{shown.heading}："] + [f"[{s['n']}] {n}" for s, n in zip(shown.sources, names)])
