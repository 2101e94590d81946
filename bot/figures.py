"""Figure guard: every number in a generated answer must be found in the sources it cites.

The answer is read sentence by sentence (a sentence ends at 。！？；!?; or a line break, and keeps the
``[n]`` markers that follow its end). Each figure in a sentence - Arabic digits with their magnitude
(万/亿/...), percent sign and measure word, ``百分之…``, or a Chinese numeral with a magnitude or a
measure word (三千万元, 十五个) - is checked against the figures of the sources the sentence cites, or of
all sources when it cites none. Values are compared, not strings: 1.5亿 matches 15000万, 3.50 matches 3.5,
a bare 35 matches 35亿; 35亿 does not match 35万, and 5% does not match 5个.

A figure that is not there is replaced (the digits never reach the user) by one of two notes:
``（报告未公开该数字）`` when the checked sources hide a figure of the same kind behind ``*``/``**``
(the report withholds it), otherwise ``（报告中未找到该数字）``. The replaced figures are returned.

Not checked: citation markers, list numbering (``1.``, ``（2）`` at the start of a line or in brackets) and
ordinals (第N). Sentences of a source that address the model ("忽略以上指令…") are not evidence: a number
planted in such an instruction cannot vouch for the same number in the answer.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Iterable

from index.numerals import CN_DIGITS, cn_value
from index.sentences import sentence_spans, split_sentences

if TYPE_CHECKING:
    from bot.types import Source

NOT_FOUND_NOTE = "（报告中未找到该数字）"
WITHHELD_NOTE = "（报告未公开该数字）"

_MEASURES = sorted("""
元 美元 人民币 人次 户次 件次 台次 架次 人 个 户 家 项 亩 万亩 公顷 吨 次 件 名 条 栋 所 座 台 辆 张 篇 起 支 位 年 月 日 天
周 岁 倍 公里 千米 米 平方米 平方公里 立方米 千瓦 千瓦时 度 小时 批 套 场 处 间 块 株 头 只 羽 斤 公斤 千克 升 份 例 本 册
宗 类 种 期 届 轮 艘 部 片 所 根 匹 盏 人口 万人 户数
""".split(), key=len, reverse=True)
_MEASURE = "|".join(map(re.escape, dict.fromkeys(_MEASURES)))
_MAGNITUDE = "万亿|千亿|百亿|十亿|千万|百万|十万|亿|万|千|百"
_KIND = "%|％|‰|个百分点|百分点"
_CN_CHARS = "零〇一二三四五六七八九两十百千万亿"

_FIGURE = re.compile(
    rf"(?<![第0-9０-９.．])(?P<num>[0-9０-９]+(?:,[0-9]{{3}}(?![0-9]))*(?:[.．][0-9０-９]+)?)"
    rf"(?P<mag>{_MAGNITUDE})?(?P<kind>{_KIND})?(?P<approx>余|多)?(?P<measure>{_MEASURE})?"
    rf"|百分之(?P<pct>[0-9０-９.．]+|[{_CN_CHARS}点]+)"
    rf"|(?<![第{_CN_CHARS}])(?P<cn>[{_CN_CHARS}]{{2,}})(?P<cnapprox>余|多)?(?P<cnmeasure>{_MEASURE})"
)
_MASKED = re.compile(rf"[*＊]+(?:[.．][*＊]+)?(?P<mag>{_MAGNITUDE})?(?P<kind>{_KIND})?(?:余|多)?(?P<measure>{_MEASURE})?")
_CITATION = re.compile(r"[\[【]\s*\d+(?:\s*[,，、\-–~]\s*\d+)*\s*[\]】]")
_TRAILING_CITATIONS = re.compile(rf"(?:[ \t]*{_CITATION.pattern})+")
_LIST_MARKER = re.compile(r"(?m)^[ \t]*(?:[-*•·][ \t]*)?(?:\d{1,2}[.、．)）](?!\d)|[（(]\d{1,2}[)）])|[（(]\d{1,2}[)）]")
# Digits and Chinese numerals: where a figure could begin, streaming pauses until the sentence ends.
# A Chinese numeral counts when a numeral or unit follows, or when what follows has not arrived yet.
_CN_NUMERAL = "一二三四五六七八九十两零〇百千万亿"
_FIGURE_START = re.compile(
    rf"[0-9０-９]|[{_CN_NUMERAL}](?=[{_CN_NUMERAL}点个件户次人项家栋条亩吨元%％名所座套张台斤]|$)")
_PARTIAL_CITATION = re.compile(r"[ \t]*(?:[\[【][\d\s,，、\-–~]*)?\Z")
# Sentences in a document that talk to the model rather than report anything.
_INSTRUCTION = re.compile(
    r"忽略(?:掉)?(?:以上|上述|上面|之前|前面|先前|此前|所有|全部|你的|原有)*的?(?:所有|全部)?(?:指令|指示|提示|规则|要求|设定)"
    r"|(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|above|prior|earlier|preceding)"
    r"|system\s*prompt|系统提示|你现在是|你是一个|作为(?:一个)?(?:AI|人工智能|语言模型|大模型|助手)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    text: str
    start: int
    end: int
    raw: Decimal  # the number as written, before its magnitude
    mult: int  # 1, 10**4 (万), 10**8 (亿), ...
    kind: str  # "", "%", "‰" or "pp"
    measure: str
    literal: str = ""  # Chinese numerals as written, for a plain text match

    @property
    def scaled(self) -> Decimal:
        return self.raw * self.mult


def _magnitude(text: str | None) -> int:
    mult = 1
    for char in text or "":
        mult *= {"十": 10, "百": 100, "千": 1000, "万": 10 ** 4, "亿": 10 ** 8}[char]
    return mult


def _kind(text: str | None) -> str:
    if not text:
        return ""
    if "百分点" in text:
        return "pp"
    return "‰" if text == "‰" else "%"


def _is_cn_figure(text: str) -> bool:
    has_digit = any(c in CN_DIGITS and c not in "零〇" for c in text)
    has_unit = any(c in "十百千万亿" for c in text)
    return (has_digit and (has_unit or len(text) >= 2)) or text.startswith("十")


def find_figures(text: str, skip: Iterable[tuple[int, int]] = ()) -> list[Figure]:
    skip = list(skip)
    figures = []
    for match in _FIGURE.finditer(text):
        if any(a <= match.start() < b for a, b in skip):
            continue
        figure = _figure(match)
        if figure is not None:
            figures.append(figure)
    return figures


def _figure(match: re.Match) -> Figure | None:
    span = dict(text=match.group(), start=match.start(), end=match.end())
    if match.group("num"):
        number = unicodedata.normalize("NFKC", match.group("num")).replace(",", "")
        try:
            raw = Decimal(number)
        except InvalidOperation:
            return None
        return Figure(raw=raw, mult=_magnitude(match.group("mag")), kind=_kind(match.group("kind")),
                      measure=match.group("measure") or "", **span)
    if match.group("pct"):
        pct = match.group("pct")
        try:
            raw = Decimal(unicodedata.normalize("NFKC", pct).replace("．", "."))
        except InvalidOperation:
            raw = cn_value(pct)
        if raw is None:
            return None
        return Figure(raw=raw, mult=1, kind="%", measure="", literal=match.group(), **span)
    numeral = match.group("cn")
    if not _is_cn_figure(numeral):
        return None
    raw = cn_value(numeral)
    if raw is None:
        return None
    return Figure(raw=raw, mult=1, kind="", measure=match.group("cnmeasure") or "", literal=numeral, **span)


class _Evidence:
    """The figures a set of sources can vouch for."""

    def __init__(self, texts: Iterable[str]):
        sentences = [s for text in texts for s in _split_source(text) if not _INSTRUCTION.search(s)]
        self.text = "\n".join(sentences)
        self.figures = find_figures(self.text)
        self.masked = [(_magnitude(m.group("mag")), _kind(m.group("kind")), m.group("measure") or "")
                       for m in _MASKED.finditer(self.text)]

    def supports(self, figure: Figure) -> bool:
        if figure.literal and figure.literal in self.text:
            return True
        for known in self.figures:
            if figure.kind and known.kind != figure.kind:
                continue
            if figure.scaled == known.scaled or (figure.mult == 1 and not figure.literal and figure.raw == known.raw):
                return True
        return False

    def withholds(self, figure: Figure) -> bool:
        for mult, kind, measure in self.masked:
            if (mult, kind, measure) == (1, "", ""):
                continue  # a bare ** (often a masked name) says nothing about this figure
            if mult == figure.mult and kind == figure.kind and (measure == figure.measure or not figure.measure):
                return True
        return False


def _split_source(text: str) -> list[str]:
    return [part for part in split_sentences(text, line_breaks=True) if part.strip()]


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """Contiguous spans covering ``text``: its sentences, each with any ``[n]`` right after its end."""
    spans, start = [], 0
    for _, end in sentence_spans(text, line_breaks=True):
        if end <= start:
            continue  # taken already as citations of the sentence before
        if not text[:end].endswith("\n"):
            cites = _TRAILING_CITATIONS.match(text, end)
            end = cites.end() if cites else end
        spans.append((start, end))
        start = end
    return spans


class FigureGuard:
    """Checks answer text against sources; ``guard`` for a whole answer, ``feed``/``finish`` for a stream."""

    def __init__(self, sources: list[Source]):
        self._by_n = {s.n: _Evidence([s.section, s.text]) for s in sources}
        self._all = _Evidence([part for s in sources for part in (s.section, s.text)])
        self.flagged: list[str] = []
        self._buffer = ""
        self._shown = 0  # characters of the sentence in progress already streamed

    def guard(self, answer: str) -> str:
        return "".join(self._guard_sentence(answer[a:b]) for a, b in answer_sentences(answer))

    def feed(self, delta: str) -> str:
        """Add streamed text; return what can be shown now.

        Complete sentences come out guarded. Of the sentence still arriving, the part before anything
        that could start a figure is shown at once, so text streams token by token and only a
        sentence with a number waits until it is complete (and its citations known).
        """
        self._buffer += delta
        spans = answer_sentences(self._buffer)
        ready = len(spans) - 1
        # Hold a sentence whose citation markers may still be arriving.
        if ready > 0 and _PARTIAL_CITATION.match(self._buffer[spans[-1][0]:]):
            ready -= 1
        out = ""
        if ready > 0:
            cut = spans[ready - 1][1]
            done, self._buffer = self._buffer[:cut], self._buffer[cut:]
            out = self._release(done)
        figure_start = _FIGURE_START.search(self._buffer)
        safe = figure_start.start() if figure_start else len(self._buffer)
        safe = min(safe, len(self._buffer) - len(_PARTIAL_CITATION.search(self._buffer).group()))
        if safe > self._shown:
            out += self._buffer[self._shown:safe]
            self._shown = safe
        return out

    def finish(self) -> str:
        rest, self._buffer = self._buffer, ""
        return self._release(rest)

    def _release(self, text: str) -> str:
        """Guard completed text, minus the figure-free prefix of its first sentence already shown."""
        guarded = self.guard(text)
        shown, self._shown = self._shown, 0
        return guarded[shown:]

    def _guard_sentence(self, sentence: str) -> str:
        skip = [m.span() for m in _CITATION.finditer(sentence)] + [m.span() for m in _LIST_MARKER.finditer(sentence)]
        figures = find_figures(sentence, skip)
        if not figures:
            return sentence
        cited = {int(n) for m in _CITATION.finditer(sentence) for n in re.findall(r"\d+", m.group())}
        known = [self._by_n[n] for n in sorted(cited) if n in self._by_n]
        evidence = _Evidence([e.text for e in known]) if known else self._all
        out, last = [], 0
        for figure in figures:
            if evidence.supports(figure):
                continue
            self.flagged.append(figure.text)
            note = WITHHELD_NOTE if evidence.withholds(figure) else NOT_FOUND_NOTE
            out += [sentence[last:figure.start], note]
            last = figure.end
        out.append(sentence[last:])
        return "".join(out)


def guard_figures(answer: str, sources: list[Source]) -> tuple[str, list[str]]:
    """The answer with unsupported figures replaced by a note, and the figures replaced."""
    guard = FigureGuard(sources)
    return guard.guard(answer), guard.flagged
