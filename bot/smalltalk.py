"""Small talk and odd input: greetings, thanks, goodbyes and "你能做什么" get a short introduction
instead of a search; a long question is summarised, not echoed, in a refusal.

A message counts as small talk only when nothing is left once its small-talk phrases, fillers and
punctuation are taken away: "你好，丽水GDP多少" is a question and is answered as one.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Mapping, Sequence

from bot.query import content_terms, is_english

GREETING, ABOUT, THANKS, GOODBYE, ACK = "greeting", "about", "thanks", "goodbye", "ack"

# Each intent is a general form of the phrase, not a list of expected messages.
_INTENTS = {
    ABOUT: r"(能|会|可以)(帮我)?(做|干|帮|回答|问)(些)?(什么|啥|哪些)(事|问题|忙)?|有(什么|哪些|啥)(功能|用处|用途)|"
           r"是(谁|什么|干什么的|做什么的)|叫(什么|啥)(名字)?|(怎么|如何|怎样)(用|使用|提问|问)|"
           r"问(些)?(什么|啥|哪些)(问题)?|使用说明|帮助|介绍(一下)?自己|自我介绍|what can you do|who are you|help",
    GREETING: r"(你们|你|您|大家)好|哈喽|哈罗|嗨|早上好|上午好|中午好|下午好|晚上好|早安|早|在吗|在么|在不在|有人吗|"
              r"hello|hi|hey",
    THANKS: r"(谢谢|多谢|感谢|谢了|谢啦)(你们|你|您)?(的)?(回答|解答|帮助|帮忙)?|辛苦(你们|你|您)?了|麻烦(你们|你|您)?了|"
            r"thanks|thank you|thx",
    GOODBYE: r"再见|拜拜|拜|回头见|下次见|先这样|没事了|没有了|不用了|bye|goodbye",
    ACK: r"好的|好吧|好|嗯+|哦+|噢|明白了?|知道了|收到|了解了?|行|ok|okay",
}
_PHRASE = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _INTENTS.items()))
# Pronouns and particles around the phrases ("请问你能做什么", "你好呀"); a pronoun alone says nothing.
_FILLER = re.compile(r"[\W_]+|请问|请|那个|机器人|小助手|助手|你们|你|您|我|啊|呀|呢|哈|吧|啦|嘛|哟|呐|喔|吗|there")
_MOST_CHARS = 40  # longer than this, a message is about something

MAX_TITLES = 5  # reports named in an introduction; a larger library is counted


def smalltalk_intents(text: str) -> set[str]:
    """The small-talk intents of a message; empty when anything else is in it."""
    text = unicodedata.normalize("NFKC", text).strip().lower()
    if not text or len(text) > _MOST_CHARS:
        return set()
    intents: set[str] = set()
    position = 0
    while position < len(text):
        phrase = _PHRASE.match(text, position)
        filler = _FILLER.match(text, position)
        if phrase and (not filler or phrase.end() >= filler.end()):
            intents.add(phrase.lastgroup)
            position = phrase.end()
        elif filler:
            position = filler.end()
        else:
            return set()
    return intents


def is_smalltalk(text: str) -> bool:
    """Greeting, thanks, goodbye, "你能做什么" and the like, and nothing else: such a turn has no topic."""
    return bool(smalltalk_intents(text))


def reply_to_smalltalk(text: str, reports: Iterable[object], examples: Sequence[str] = ()) -> str | None:
    """The reply to a small-talk message, or None when the message is a real question.

    ``reports``: the library's reports (anything with a ``title``, or the titles themselves);
    ``examples``: questions the reports answer (``bot.suggestions.example_questions``).
    """
    intents = smalltalk_intents(text)
    if not intents:
        return None
    if GOODBYE in intents and not intents & {ABOUT, GREETING}:
        return ("不客气，" if THANKS in intents else "") + "再见！需要查阅报告时随时来问。"
    introduction = _introduction(_titles(reports), examples)
    if ABOUT in intents:
        return introduction
    if GREETING in intents:
        return "您好！" + introduction
    if THANKS in intents:
        return "不客气！" + introduction
    return "好的。还想了解报告的哪方面内容，可以接着问。"


def _titles(reports: Iterable[object]) -> list[str]:
    titles = (report if isinstance(report, str) else getattr(report, "title", "") for report in reports)
    return list(dict.fromkeys(t for t in titles if t))


def _introduction(titles: list[str], examples: Sequence[str]) -> str:
    if not titles:
        return "我是报告问答助手，只根据收录的报告回答问题。目前还没有收录报告，请管理员先添加报告。"
    named = "".join(f"《{t}》" for t in titles[:MAX_TITLES])
    library = named if len(titles) <= MAX_TITLES else f"{len(titles)} 份报告，包括{named}等"
    lines = [f"我是报告问答助手，只根据收录的报告回答问题，并注明每句话的出处。目前收录了{library}。"]
    if examples:
        lines.append("可以这样问：")
        lines.extend(f"- {example}" for example in examples)
    return "\n".join(lines)


_CLAUSE = re.compile(r"[^，,。；;？?！!]+")
_ASKING = re.compile(r"什么|哪些|哪个|多少|怎么|怎样|如何|是否|有没有|吗|几[个项次家条]")
_ELLIPSIS = "…"
# Parts of speech that name a topic: nouns, verbs, names, years, English words, idioms, abbreviations.
_TOPICAL_KINDS = ("n", "v", "year", "eng", "j", "l", "i", "m", "t", "a")


def summarise_for_refusal(text: str, limit: int = 30, term_kinds: Mapping[str, str] | None = None) -> str:
    """What a refusal quotes of the question: the question itself when short, else its key phrases
    ("农村电商、直播带货、补贴政策等") when they fit, else its beginning cut at a clause with "…".

    ``term_kinds``: the question's content terms and their parts of speech when the caller has them
    (``QuestionInfo.term_kinds``); otherwise they are read here.
    """
    text = text.strip().rstrip("？?。！!，,；;、 ")
    if len(text) <= limit:
        return text
    if is_english(text):  # a list of English words reads worse than the sentence's beginning
        head = text[:limit - 1]
        return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(" ,") + _ELLIPSIS
    kinds = term_kinds if term_kinds is not None else _content_terms(text)
    terms = [term for term, kind in kinds.items() if kind.startswith(_TOPICAL_KINDS)]
    key_phrases = _key_phrases(text, terms, limit)
    if key_phrases:
        return key_phrases
    head = text[:limit - 1]
    clause_ends = [m.end() for m in _CLAUSE.finditer(head) if m.end() < len(head)]
    cut = clause_ends[-1] if clause_ends and clause_ends[-1] >= limit // 2 else len(head)
    return head[:cut] + _ELLIPSIS


def _key_phrases(text: str, terms: list[str], limit: int) -> str:
    """Terms next to each other in the text read as one phrase ("农村" + "电商"); those of the clauses
    that ask something come first; as many as fit, in the question's order."""
    phrases = _phrases(text, terms)
    asking = [m.span() for m in _CLAUSE.finditer(text) if _ASKING.search(m.group())]
    in_asking = lambda span: any(a <= span[0] < b for a, b in asking)  # noqa: E731
    chosen: list[tuple[int, int]] = []
    for span in sorted(phrases, key=lambda span: (not in_asking(span), span[0])):
        candidate = sorted(chosen + [span])
        if len("、".join(text[a:b] for a, b in candidate)) + len("等") > limit:
            break
        chosen = candidate
    if not chosen:
        return ""
    return "、".join(dict.fromkeys(text[a:b] for a, b in chosen)) + ("等" if len(chosen) < len(phrases) else "")


def _phrases(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Spans of the terms in the text, those that touch merged."""
    lowered = text.lower()
    spans = sorted({(i, i + len(t)) for t in terms if (i := lowered.find(t.lower())) >= 0})
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _content_terms(text: str) -> dict[str, str]:
    import jieba.posseg

    tagged = [(w.word.strip(), w.flag) for w in jieba.posseg.lcut(text) if w.word.strip()]
    return content_terms([(t.lower() if t.isascii() else t, k) for t, k in tagged if re.search(r"\w", t)])
