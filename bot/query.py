"""Read a question: normalise it, and tell its period, breadth, whether it asks for a figure, its terms.

Everything here is a general reading of Chinese question forms, not a list of expected questions.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bot.types import InputError
from index.keyword import STOPWORDS, Tokenizer
from index.outline import cn_to_int

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates ("\ud800" in JSON) are not characters: they cannot even be encoded as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

# Period cues. Named periods decide first; verbs of doing vs. intending only when none is named.
_FIRST_HALF = re.compile(r"上半年|前半年|今年以来|截至目前|目前为止|first half|so far", re.IGNORECASE)
_SECOND_HALF = re.compile(r"下半年|后半年|second half", re.IGNORECASE)
_WHOLE_YEAR = re.compile(r"全年")
_NEXT_YEAR = re.compile(r"明年|下一年|来年|next year", re.IGNORECASE)
_NAMED_DONE = re.compile(r"上半年|前半年|今年以来|截至目前|目前为止|去年|过去一年|上一年|first half|last year|so far",
                         re.IGNORECASE)
_NAMED_PLAN = re.compile(r"下半年|后半年|下一步|下步|接下来|今后|将来|未来|明年|来年|下一年|second half|next year",
                         re.IGNORECASE)
_DOING = re.compile(r"已经|做了|干了|完成了|取得了|开展了|实现了|落实了|推进了|did|done|achieved", re.IGNORECASE)
# A bare "计划" counts only as a word of its own (so "三年行动计划" stays a name).
_INTENDING = re.compile(r"还要|还将|将要|要做|要抓|打算|安排|规划|部署|\bplans?\b|\bwill\b", re.IGNORECASE)
_INTENDING_WORDS = {"计划", "规划", "部署"}

# Broad questions ask what was done / what there is, and want a section, not a sentence.
_BROAD = re.compile(
    r"做了(什么|哪些|些什么)|干了什么|有(哪些|什么)(工作|举措|措施|安排|计划|要求|成效|成绩|进展|亮点)?|"
    r"情况(怎么样|如何|怎样)|(进展|成效|效果)(怎么样|如何)|怎么样|如何|总体|概况|"
    r"哪些|具体(介绍|说说|讲讲)|详细(介绍|说说|讲讲)|展开(说说|讲讲)|还要做什么|要做什么|(工作|计划|安排)(是什么|呢)|what (are|is|were|was)|how",
    re.IGNORECASE)
_HOW = re.compile(r"怎么|如何|怎样|采取了?哪些|通过什么")
_QUANTITY = re.compile(r"多少|几[个件户次人项家栋条万亿名所座套张台]|数量|规模|多大|比例|比率|占比|率是|率为|"
                       r"金额|总额|产值|how (many|much)|number of|amount", re.IGNORECASE)
# Words that carry no topic: question frames and generic verbs (used to spot elliptical follow-ups).
GENERIC_WORDS = frozenset(
    "做 做了 干 干了 还要 还 要 需要 需 有 有没有 没有 是 是不是 呢 吗 吧 那 那么 那下 还有 另外 再 又 具体 说 说说 讲讲 "
    "详细 详细点 展开 介绍 一下 这方面 这方 方面 这个 这些 那个 那些 这项 该 此 它 其 上述 以上 怎么 怎么样 怎样 如何 "
    "什么 哪些 哪个 多少 几 要求 安排 计划 规划 部署 打算 措施 举措 工作 情况 进展 成效 重点 内容 对 关于 的 了 "
    "上半年 下半年 前半年 后半年 全年 明年 来年 今年 下一步 接下来 半年 上半 下半 今后 今年以来 截至目前 目前 目前为止 "
    "以来 至今 迄今 取得 存在 一共 总共 合计 共计 去年 过去 过去一年 上一年 明年 来年".split())
_DEMONSTRATIVE = re.compile(r"这方面|这一块|这一项|这项工作|这件事|这个|这些|该项|上述|以上|此项|它们|它")
_ORDINAL = re.compile(r"第\s*([一二三四五六七八九十\d]+)\s*(点|条|项|个|部分)")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalise_question(raw: object, max_chars: int) -> str:
    """Trim, reject bad input with a Chinese message, convert traditional script to simplified."""
    if not isinstance(raw, str):
        raise InputError("问题格式不正确，请输入文字。", "question is not a string")
    text = unicodedata.normalize("NFC", raw).replace("\u3000", " ").strip()
    if not text:
        raise InputError("请输入问题。", "empty question")
    if _CONTROL.search(text.replace("\n", " ").replace("\t", " ")):
        raise InputError("问题中包含无法识别的控制字符，请删除后重试。", "control characters in question")
    if _SURROGATE.search(text):
        raise InputError("问题中包含无法识别的字符，请删除后重试。", "lone surrogate in question")
    if len(text) > max_chars:
        raise InputError(f"问题太长了（{len(text)} 字），请精简到 {max_chars} 字以内。", "question too long")
    text = re.sub(r"\s+", " ", text)
    return _t2s().convert(text)


def clean_text(text: str) -> str:
    """Text from elsewhere (a chat history) without control characters or lone surrogates."""
    return _SURROGATE.sub("", _CONTROL.sub("", text))


def period_of_question(question: str) -> str:
    """The period a question names (上半年 / 下半年 / 全年 / 明年), else ""."""
    if _NEXT_YEAR.search(question):
        return "明年"
    first, second = bool(_FIRST_HALF.search(question)), bool(_SECOND_HALF.search(question))
    if first != second:  # naming both halves means the answer should draw on both
        return "上半年" if first else "下半年"
    return "全年" if _WHOLE_YEAR.search(question) else ""


def phase_of_question(question: str, tokens: list[str]) -> str:
    """"done" for results, "plan" for plans, "" when the question does not tell."""
    done, plan = bool(_NAMED_DONE.search(question)), bool(_NAMED_PLAN.search(question))
    if not (done or plan):
        done = bool(_DOING.search(question))
        plan = bool(_INTENDING.search(question)) or any(t in _INTENDING_WORDS for t in tokens)
    return ("done" if done else "plan") if done != plan else ""


@dataclass
class QuestionInfo:
    text: str
    tokens: list[str]  # jieba words, punctuation dropped
    terms: list[str]  # content terms: stopwords and question frames dropped
    term_kinds: dict[str, str]  # term -> jieba part of speech ("year" for a merged year)
    period: str  # a named period: 上半年 / 下半年 / 全年 / 明年
    phase: str  # "done" / "plan": what retrieval is steered to
    broad: bool
    asks_quantity: bool
    asks_how: bool  # "怎么/如何 + verb": measures, answered from the section when no sentence says it all
    english: bool = False


_YEAR = re.compile(r"^\d{2,4}$")


def content_terms(tagged: list[tuple[str, str]]) -> dict[str, str]:
    """Content words of a question with their part of speech, in order."""
    terms: dict[str, str] = {}
    for i, (token, kind) in enumerate(tagged):
        # "2021" + "年" is one term: a year the report may not cover.
        if _YEAR.match(token) and i + 1 < len(tagged) and tagged[i + 1][0] in ("年", "年度"):
            terms[token + "年"] = "year"
            continue
        if token in STOPWORDS or token in GENERIC_WORDS or not re.search(r"\w", token):
            continue
        if len(token) == 1 and not token.isdigit():
            continue  # single characters are too ambiguous to count as evidence
        if kind == "m" and not any(ch.isdigit() for ch in token):
            continue  # "几个", "一家", "两项": counting words, not topics
        if _is_generic_compound(token):
            continue  # "新举措", "工作计划": a question frame with a prefix, not a topic
        terms.setdefault(token, kind)
    return terms


def _is_generic_compound(token: str) -> bool:
    for word in GENERIC_WORDS:
        if len(word) >= 2 and len(token) > len(word) and (token.startswith(word) or token.endswith(word)):
            rest = token[len(word):] if token.startswith(word) else token[:-len(word)]
            if len(rest) <= 1 or rest in GENERIC_WORDS:
                return True
    return False


def analyse(question: str, tokenizer: Tokenizer) -> QuestionInfo:
    import jieba.posseg

    tokenizer.warm_up()
    tagged = [(w.word.strip(), w.flag) for w in jieba.posseg.lcut(question) if w.word.strip()]
    tagged = [(t.lower() if t.isascii() else t, k) for t, k in tagged if re.search(r"\w", t)]
    tokens = [t for t, _ in tagged]
    terms = content_terms(tagged)
    latin = sum(ch.isascii() and ch.isalpha() for ch in question)
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in question)
    return QuestionInfo(
        text=question, tokens=tokens, terms=list(terms), term_kinds=terms,
        period=period_of_question(question), phase=phase_of_question(question, tokens),
        broad=bool(_BROAD.search(question)),
        asks_quantity=bool(_QUANTITY.search(question)), asks_how=bool(_HOW.search(question)),
        english=latin > 2 * cjk)


def has_demonstrative(question: str) -> bool:
    return bool(_DEMONSTRATIVE.search(question))


def ordinal_reference(question: str) -> int | None:
    match = _ORDINAL.search(question)
    if not match:
        return None
    value = match.group(1)
    if value.isdigit():
        return int(value)
    return cn_to_int(value) or None
