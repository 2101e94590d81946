"""Read a question: normalise it, and tell its period, breadth, whether it asks for a figure, its terms.

Everything here is a general reading of Chinese question forms, not a list of expected questions.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache

from bot.answer_type import is_unit
from bot.types import InputError
from index.keyword import STOPWORDS, Tokenizer
from index.numerals import cn_to_int
from index.periods import TIME_TOKENS, phase_of_question

# Broad questions ask what was done / what there is, and want a section, not a sentence.
_BROAD = re.compile(
    r"做了(什么|哪些|些什么)|干了什么|有(哪些|什么)(工作|举措|措施|安排|计划|要求|成效|成绩|进展|亮点)?|"
    r"(什么|哪些)(支持|政策|帮扶|扶持|优惠|保障|补贴政策)|情况(怎么样|如何|怎样)|(进展|成效|效果)(怎么样|如何)|怎么样|如何|总体|概况|"
    r"哪些|具体(介绍|说说|讲讲)|详细(介绍|说说|讲讲)|展开(说说|讲讲)|还要做什么|要做什么|(工作|计划|安排)(是什么|呢)|what (are|is|were|was)|how",
    re.IGNORECASE)
_HOW = re.compile(r"怎么|如何|怎样|采取了?哪些|通过什么")
# How things went as a whole: a report answers that in the paragraph that opens a part, not in a section.
_OVERALL = re.compile(r"总体|整体|总的|概况|大体上|全局")
# A target or an indicator is stated in figures ("引进10亿级项目55个").
_TARGET = re.compile(r"目标|指标")
_QUANTITY = re.compile(r"多少|(?<![这那好前近])几[个件户次人项家栋条万亿名所座套张台]|数量|规模|多大|多长|多宽|多高|多深|多远|比例|比率|占比|率是|率为|"
                       r"金额|总额|产值|how (many|much)|number of|amount", re.IGNORECASE)
# Words that carry no topic: question frames and generic verbs (used to spot elliptical follow-ups).
GENERIC_WORDS = frozenset(
    "做 做了 干 干了 还要 还 要 需要 需 有 有没有 没有 是 是不是 呢 吗 吧 那 那么 那下 还有 另外 再 又 具体 说 说说 讲讲 "
    "详细 详细点 展开 介绍 一下 这方面 这方 方面 这个 这些 那个 那些 这项 该 此 它 其 上述 以上 怎么 怎么样 怎样 如何 "
    "什么 哪些 哪个 多少 几 要求 安排 计划 规划 部署 打算 预计 措施 举措 工作 情况 进展 成效 重点 内容 对 关于 的 了 "
    "取得 存在 一共 总共 合计 共计 时候 百分之 百分之几 总体 整体 总的 概况 大体上 多长 多宽 多高 多深 多远 "
    # "县里要种多少树": the government or the place as a whole, which the report is by and about.
    "省里 市里 县里 区里 镇里 乡里 全省 全市 全县 全区 全镇 全乡 "
    # "总产值达到多少": reaching is how a figure is asked for, the report says 达 or 实现.
    "达到 达 "
    # "那去年实际做到了多少": how far a plan was met, asked of the topic under way.
    "实际 实际上 做到 到底 究竟 "
    # "现在的最低工资标准": now, as the report stands; not a topic.
    "现在 目前 当前 眼下 "
    # "多出来多少个", "利用起来": a direction after a verb, not a topic ("冒出来" is 冒 with it).
    "出来 起来 下来 上来 过来 回来 进去 出去 下去 上去".split()) | TIME_TOKENS
# The report's author as a question names it ("政府管不管", "政府准备怎么治"): who acts, not what about.
AUTHOR_WORDS = frozenset("政府 市政府 县政府 区政府 政府部门 有关部门 相关部门".split())
_DEMONSTRATIVE = re.compile(r"这方面|这一块|这块|这一项|这项工作|这件事|这个|这些|该项|上述|以上|此项|它们|它")
_ORDINAL = re.compile(r"第\s*([一二三四五六七八九十\d]+)\s*(点|条|项|个|部分)")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates ("\ud800" in JSON) are not characters: they cannot even be encoded as UTF-8.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


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


@dataclass
class QuestionInfo:
    text: str
    tokens: list[str]  # jieba words, punctuation dropped
    terms: list[str]  # content terms: stopwords and question frames dropped
    term_kinds: dict[str, str]  # term -> jieba part of speech ("year" for a merged year)
    phase: str  # "done" / "plan": what retrieval is steered to
    broad: bool
    asks_quantity: bool
    asks_how: bool  # "怎么/如何 + verb": measures, answered from the section when no sentence says it all
    english: bool = False
    asks_overall: bool = False  # "总体怎么样": the summary, not one topic's section
    asks_target: bool = False  # "定了什么目标": answered in figures
    translated: bool = False  # an English question read as the Chinese words a dictionary gives for it
    # What the question says was done to its topic, single characters too ("接" of "一共接了多少个")
    actions: list[str] = field(default_factory=list)


_YEAR = re.compile(r"^\d{2,4}$")
# Parts of speech that frame a question rather than name its topic: pronouns ("有人", "之类"),
# conjunctions ("不管", "可不可以"), adverbs ("已经", "大概"), localisers ("以后"), modal particles.
_FRAME_KINDS = {"r", "c", "d", "f", "y", "e", "o", "u", "uj", "ul", "uz", "ug", "uv", "ud"}
# "A不A" / "A没A" asks yes or no ("受不受", "能不能", "会不会"); "不能", "不会" only negate a modal.
_A_NOT_A = re.compile(r"^(\w{1,2})[不没]\1$|^[不没](?:能|会|可以|是|行|要|用)$")


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
        if i > 0 and tagged[i - 1][0] in ("多少", "几") and is_unit(token):
            continue  # "换多少公里": the unit counted in, which any figure in the report may carry
        if kind in _FRAME_KINDS or _A_NOT_A.match(token):
            continue  # "有人管吗", "管不管", "受不受重视": how the question is asked, not what about
        if kind in ("m", "mq") and not any(ch.isdigit() for ch in token):
            continue  # "几个", "一家", "两项", "哪条": counting words, not topics
        if _is_generic_compound(token):
            continue  # "新举措", "工作计划": a question frame with a prefix, not a topic
        terms.setdefault(token, kind)
    return terms


def actions_of(tagged: list[tuple[str, str]]) -> list[str]:
    """The question's verbs that say what was done, not how it is asked ("有", "要", "能不能")."""
    return [token for token, kind in tagged if kind == "v" and token not in STOPWORDS and token not in GENERIC_WORDS
            and not _A_NOT_A.match(token) and not re.search(r"[会能可要想]", token)]


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
    tagged = _noun_split_off(tagged, jieba.posseg.dt.word_tag_tab)
    tagged = [(t, "n" if _is_facility(t, k) else k) for t, k in tagged]
    tagged = _question_word_split_off(tagged)
    tokens = [t for t, _ in tagged]
    terms = content_terms(tagged)
    return QuestionInfo(
        text=question, tokens=tokens, terms=list(terms), term_kinds=terms,
        phase=_phase_outside_quotes(question, tokens),
        broad=bool(_BROAD.search(question)),
        asks_quantity=bool(_QUANTITY.search(question)), asks_how=bool(_HOW.search(question)),
        english=is_english(question), asks_overall=bool(_OVERALL.search(question)),
        asks_target=bool(_TARGET.search(question)), actions=actions_of(tagged))


_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|「[^」]*」|《[^》]*》")


def _phase_outside_quotes(question: str, tokens: list[str]) -> str:
    """A quoted name ("“强农计划”", "《三年行动计划》") is not a question about plans."""
    unquoted = _QUOTED.sub(" ", question)
    if unquoted == question:
        return phase_of_question(question, tokens)
    import jieba

    return phase_of_question(unquoted, [t for t in jieba.lcut(unquoted) if t.strip()])


def _noun_split_off(tagged: list[tuple[str, str]], tags: dict[str, str]) -> list[tuple[str, str]]:
    """jieba sometimes takes a noun's first character into the verb before it ("能通高铁" -> 能/通高/铁):
    a two-character verb and a single character that end in a known noun are the verb's first character
    and that noun (通/高铁)."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tagged):
        token, kind = tagged[i]
        after = tagged[i + 1][0] if i + 1 < len(tagged) else ""
        if kind.startswith("v") and len(token) == 2 and len(after) == 1 and tags.get(token[1] + after, "").startswith("n"):
            out += [(token[0], tags.get(token[0], "v")), (token[1] + after, "n")]
            i += 2
            continue
        out.append((token, kind))
        i += 1
    return out


_QUESTION_PREFIX = re.compile(r"^(哪些|什么|哪个|哪家|哪几个)(.{2,})$")


def _question_word_split_off(tagged: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """jieba keeps some question words with the noun after them ("具体有哪些项目" -> 哪些项目): the question
    word frames the question, the noun is its term."""
    out: list[tuple[str, str]] = []
    for token, kind in tagged:
        match = _QUESTION_PREFIX.match(token)
        out += [(match.group(1), "r"), (match.group(2), "n")] if match else [(token, kind)]
    return out


# A word jieba calls a person's name ("养老院 nr", "张公桥 nr") that ends like a place or an institution
# is a common noun: something a report may simply not mention, not a name a paraphrase cannot replace.
_FACILITY_ENDINGS = tuple("院站馆场厂所园校局室桥街路巷村镇湖") + ("中心",)


def _is_facility(token: str, kind: str) -> bool:
    return kind == "nr" and len(token) >= 3 and token.endswith(_FACILITY_ENDINGS)


_MARKUP = re.compile(r"<[^>]*>|!?\[[^\]]*\]\([^)]*\)|https?://\S+|www\.\S+", re.IGNORECASE)


def is_english(question: str) -> bool:
    """Mostly Latin letters, not counting markup and links (a tag or a URL pasted into a Chinese
    question does not make it English): the report's words will not be in it."""
    question = _MARKUP.sub(" ", question)
    latin = sum(ch.isascii() and ch.isalpha() for ch in question)
    cjk = sum("\u4e00" <= ch <= "\u9fff" for ch in question)
    return latin > 2 * cjk


def has_demonstrative(question: str) -> bool:
    return bool(_DEMONSTRATIVE.search(question))


def replace_demonstrative(question: str, topic: str) -> str:
    """The first "这方面" (or the like) replaced by the topic it stands for."""
    return _DEMONSTRATIVE.sub(topic, question, count=1)


def ordinal_reference(question: str) -> int | None:
    match = _ORDINAL.search(question)
    if not match:
        return None
    value = match.group(1)
    if value.isdigit():
        return int(value)
    return cn_to_int(value) or None


def without_words(text: str, words: tuple[str, ...]) -> str:
    """The question with the words that said where to look removed, for searching inside the reports they
    chose: "丽水2023年粮食生产怎么样" looks for 粮食生产, not for every passage about 丽水 in 2023.
    The text itself when nothing would be left."""
    kept = text
    for word in sorted(words, key=len, reverse=True):
        kept = kept.replace(word, "")
    return kept if re.search(r"\w", kept) else text


def without_terms(info: QuestionInfo, words: tuple[str, ...]) -> QuestionInfo:
    """The question with the terms that only said where to look ("丽水", "2023年") dropped: they chose
    the report, and a passage need not repeat them to answer."""
    if not words:
        return info
    kept = [t for t in info.terms if not any(t in w for w in words)]
    return replace(info, terms=kept, term_kinds={t: info.term_kinds[t] for t in kept})
