"""Resolve follow-up questions against the conversation without an LLM.

"那下半年呢？" after "上半年生态环境做了什么？" becomes "下半年生态环境做了什么？": the topic is carried from
earlier turns and the period or focus of the new question replaces the old one. "具体说说第二点" picks the
second point of the previous answer.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from bot.answer_type import COUNT_ASKED, is_milestone
from bot.messages import message_text
from bot.smalltalk import is_smalltalk
from bot.query import GENERIC_WORDS, has_demonstrative, ordinal_reference, replace_demonstrative
from index.keyword import STOPWORDS
from index.numerals import cn_to_int
from index.periods import FOLLOWUP_TIME_WORDS, NAMED_DONE as _DONE_PERIOD, NAMED_PLAN as _PLAN_PERIOD

# A period a follow-up may swap: "今年", "下半年", or a year named outright ("2023年新增了多少…" + "今年呢？").
_PERIOD_WORDS = re.compile(rf"(?:19|20)\d{{2}}年度?|{FOLLOWUP_TIME_WORDS.pattern}")
_DONE_FRAME = re.compile(r"做了|干了|完成了|取得了")
_PLAN_FRAME = re.compile(r"有什么(?:安排|打算|计划|部署)|要做什么|怎么安排")
_LEADING_FILLER = re.compile(r"^(那么|那|还有|另外|然后|再问一下|再问|请问|那请问)[，,\s]*")
_QUESTION_TAIL = re.compile(r"(做了什么|做了哪些|[定订设提]了?(?:什么|哪些)\w{0,4}|有哪些\w{0,4}|有什么\w{0,4}|得?怎么样|如何|怎样|"
                            rf"是什么|{COUNT_ASKED}|吗|呢)?[？?。！!\s]*$")
_CITATION = re.compile(r"\s*\[\d+\]")
# "还有别的吗", "其他还有哪些": the conversation goes on, in the period it was about.
_GOES_ON = re.compile(r"还有别的|还有其他|还有其它|其他还有|其它还有|另外还有|别的还有")
# "公园呢？", "执法方面呢？", "那养殖业呢？": a new focus in the earlier question's frame.
_NEW_FOCUS = re.compile(r"^(?:那么?|还有|另外)?[，,\s]*(?P<focus>[^，,？?。！!\s]{1,12}?)(?:这?方面|这一?块)?(?:的)?呢[？?。！!\s]*$")


# In a conversation, "会办什么活动吗？", "具体有哪些数据？" ask for a kind of thing about the topic under way.
_KIND_NOUNS = frozenset("活动 数据 数字 项目 政策 指标 例子 案例 亮点 成果".split())


# "打算再加几个": a count asked of the topic under way.
_COUNTING = re.compile(COUNT_ASKED)
# "去年完成得怎么样": how the work under way went, not a topic of its own.
_PROGRESS_VERBS = frozenset("完成 落实 推进 开展 实现 进行".split())


def is_elliptical(question: str, tokens: list[str]) -> bool:
    """No topic words of its own: only a period, a question frame, fillers, the kind of thing asked."""
    # A single character ("建", "修") is a verb of the frame, not a topic.
    topical = [t for t in tokens if len(t) > 1 and t not in GENERIC_WORDS and t not in STOPWORDS
               and t not in _KIND_NOUNS and t not in _PROGRESS_VERBS and not is_milestone(t)
               and not _PERIOD_WORDS.fullmatch(t) and not _COUNTING.fullmatch(t)]
    return not topical


def topic_of(question: str) -> str:
    """The previous question minus its period, fillers and question frame."""
    text = _LEADING_FILLER.sub("", question.strip())
    text = _PERIOD_WORDS.sub("", text)
    text = _QUESTION_TAIL.sub("", text)
    return text.strip("，,的 ")


_ENUMERATED = re.compile(r"(?:^|[-*•·]\s*)([一二三四五六七八九十]+)是")


_INLINE_ENUMERATED = re.compile(r"([一二三四五六七八九十]+)是([^，；。！？\n]+)")
_COLON_LIST = re.compile(r"[：:]([^：:\n]+)")


def _colon_list(answer: str) -> list[str]:
    """"六方面：推动经济持续向好、锻造发展新引擎、…": the short items a colon introduces."""
    for match in _COLON_LIST.finditer(answer):
        items = [i.strip(" 。；;") for i in re.split(r"[、；;]", match.group(1))]
        if len(items) >= 3 and all(0 < len(i) <= 24 for i in items):
            return [_CITATION.sub("", i) for i in items]
    return []


def points_of(answer: str) -> list[str]:
    """The points of an earlier answer: its "一是/二是…" items when it has them, else its list or sentences."""
    lines = [l.strip() for l in answer.splitlines() if l.strip()]
    enumerated: dict[int, str] = {}
    for line in lines:
        match = _ENUMERATED.match(line)
        if match:
            enumerated.setdefault(cn_to_int(match.group(1)), _CITATION.sub("", line.lstrip("-*•· ")).strip())
    if 1 in enumerated and len(enumerated) >= 2:
        return [enumerated[i] for i in range(1, max(enumerated) + 1) if i in enumerated]
    inline = {cn_to_int(m.group(1)): m.group(2).strip() for m in _INLINE_ENUMERATED.finditer(answer)}
    if 1 in inline and len(inline) >= 2:  # "一是推进同频招商，二是盯紧优势招商，…" within one line
        return [_CITATION.sub("", inline[i]) for i in range(1, max(inline) + 1) if i in inline]
    items = [re.sub(r"^([-*•·]|\d+[.、)]|[（(]?\d+[）)])\s*", "", l) for l in lines
             if re.match(r"^([-*•·]\s|\d+[.、)]|[（(]?\d+[）)])", l)]
    if not items:
        items = _colon_list(answer)
    if not items:
        text = " ".join(lines[1:] if len(lines) > 1 else lines)
        items = [s for s in re.split(r"(?<=[。！？；])", text) if s.strip()]
    return [_CITATION.sub("", i).strip() for i in items]


def resolve_followup(question: str, tokens: list[str], history: list[dict], tokenize,
                     places: Iterable[str] = ()) -> str:
    """Rewrite ``question`` into a standalone one; unchanged when it already stands alone. ``places``:
    the places the library's reports are about ("顺平呢？" asks the earlier question of 顺平's report)."""
    places = tuple(sorted(set(places), key=len, reverse=True))  # "丽水市" before "丽水"
    previous_users = _previous_questions(history)
    if not previous_users:
        return question
    ordinal = ordinal_reference(question)
    if ordinal:
        answers = [message_text(m["content"]) for m in history if m["role"] == "assistant"]
        points = points_of(answers[-1]) if answers else []
        if 0 < ordinal <= len(points):
            # The point keeps the period it was listed for ("今年有哪些重点任务" → its plans).
            period = _PERIOD_WORDS.search(previous_users[-1])
            return f"具体介绍：{period.group(0) if period else ''}{points[ordinal - 1]}"
    if not (has_demonstrative(question) or is_elliptical(question, tokens) or _NEW_FOCUS.match(question)):
        return _in_period_of(question, previous_users[-1]) if _GOES_ON.search(question) else question
    topic_question, unfocused = _conversation_topic(previous_users, tokenize, places)
    focus = _focus_of(question, tokens)
    if focus and _is_place(focus, places):
        return _in_place(focus, topic_question, places)
    return _with_focus(focus, unfocused) if focus else _merge(question, topic_question)


def _previous_questions(history: list[dict]) -> list[str]:
    # A greeting or a thanks is never the topic a follow-up goes on with.
    return [text for text in (message_text(m["content"]) for m in history if m["role"] == "user")
            if not is_smalltalk(text)]


def _conversation_topic(previous_users: list[str], tokenize, places: tuple[str, ...] = ()) -> tuple[str, str]:
    """The question the conversation is on, and the same before its latest focus. Earlier turns are
    resolved first, so a chain of follow-ups keeps the original topic. A new focus ("铁路呢？", then
    "机场呢？") is a sibling of the one before it: it narrows the topic as it stood before that focus."""
    topic_question = unfocused = previous_users[0]
    for earlier in previous_users[1:]:
        earlier_tokens = tokenize(earlier)
        earlier_focus = _focus_of(earlier, earlier_tokens)
        if earlier_focus and _is_place(earlier_focus, places):
            topic_question, unfocused = _in_place(earlier_focus, topic_question, places), \
                _in_place(earlier_focus, unfocused, places)
        elif earlier_focus:
            topic_question = _with_focus(earlier_focus, unfocused)
        elif has_demonstrative(earlier) or is_elliptical(earlier, earlier_tokens):
            # "那下半年呢？" moves the topic to another period; "具体数据呢？" asks more of the same topic.
            if _PERIOD_WORDS.search(earlier):
                topic_question, unfocused = _merge(earlier, topic_question), _merge(earlier, unfocused)
        else:
            topic_question = unfocused = earlier
    return topic_question, unfocused


def _is_place(focus: str, places: tuple[str, ...]) -> bool:
    return focus.removesuffix("的") in places


def _in_place(focus: str, question: str, places: tuple[str, ...]) -> str:
    """The question asked of another report's place: the place it named replaced, else put first."""
    place = focus.removesuffix("的")
    named = next((p for p in places if p in question), None)
    return question.replace(named, place, 1) if named else place + question


def _focus_of(question: str, tokens: list[str]) -> str | None:
    """The new thing a follow-up turns to ("执法方面呢？" → 执法), if that is all it asks."""
    match = _NEW_FOCUS.match(question)
    if not match or has_demonstrative(match.group("focus")):
        return None
    return match.group("focus") if not is_elliptical(question, tokens) or _one_character(match.group("focus")) else None


def _in_period_of(question: str, earlier: str) -> str:
    """"民生实事还有别的吗？" after a question on this year's plans asks about this year's too."""
    if _PERIOD_WORDS.search(question):
        return question
    period = _PERIOD_WORDS.search(earlier)
    return f"{period.group(0)}{question}" if period else question


def _one_character(focus: str) -> bool:
    """"水这方面呢？": a one-character topic ("水", "电", "气") is a focus, though too short to be a term."""
    return bool(re.fullmatch(r"[\u4e00-\u9fff]", focus)) and focus not in "那这它其该此哪"


def _with_focus(focus: str, topic_question: str) -> str:
    """The earlier question narrowed to the new focus: "上半年环境保护做了什么？" + "执法方面呢？" →
    "上半年环境保护执法方面做了什么？"; the earlier topic stays as context for the search."""
    topic = topic_of(topic_question)
    # A period in the focus ("那今年的目标呢？") replaces the earlier question's ("去年…").
    period = _PERIOD_WORDS.search(focus) or _PERIOD_WORDS.search(topic_question)
    focus = _PERIOD_WORDS.sub("", focus).strip("的 ") or focus
    tail = _QUESTION_TAIL.search(topic_question).group(0).strip() or "的情况怎么样？"
    tail = tail if tail.endswith(("？", "?")) else tail + "？"
    parallel = _parallel_phrase(topic, focus)
    if parallel:  # "在“农业更强”上" + "农村更美这块呢" → "在“农村更美”上"
        return f"{period.group(0) if period else ''}{parallel}{tail.removeprefix('的').removeprefix('得')}"
    sibling = _sibling_topic(topic, focus)
    if sibling:
        return f"{period.group(0) if period else ''}{sibling}{tail.removeprefix('的').removeprefix('得')}"
    return f"{period.group(0) if period else ''}{topic}的{focus}方面{tail.removeprefix('的').removeprefix('得')}"


def _parallel_phrase(topic: str, focus: str) -> str | None:
    """The topic with the phrase the focus parallels put in its place: reports name their goals in
    parallel slogans ("农业更强、农村更美、农民更富"), and "农村更美这块呢" after "“农业更强”上有什么安排"
    asks the same of the next one. Parallel: as long, and the same character in at least half the
    places, not all."""
    if not 3 <= len(focus) <= 8 or not re.fullmatch(r"[\u4e00-\u9fff]+", focus):
        return None
    for start in range(len(topic) - len(focus) + 1):
        window = topic[start:start + len(focus)]
        same = sum(a == b for a, b in zip(window, focus))
        if 2 * same >= len(focus) and same < len(focus):
            return topic[:start] + focus + topic[start + len(focus):]
    return None


def _sibling_topic(topic: str, focus: str) -> str | None:
    """"大气治理" + "水这方面呢" → "水治理": a thing in place of the thing an action was about asks about the
    same action on it, not about the first thing's 水. An action as the focus ("执法方面呢") narrows instead."""
    import jieba.posseg

    tagged = [(w.word, w.flag) for w in jieba.posseg.lcut(topic)]
    focus_kinds = {w.flag for w in jieba.posseg.lcut(focus)}
    if len(tagged) < 2 or not focus_kinds or not all(k.startswith("n") for k in focus_kinds):
        return None
    (thing, thing_kind), (action, action_kind) = tagged[-2], tagged[-1]
    if action_kind not in ("v", "vn") or not thing_kind.startswith("n") or thing_kind in ("nr", "ns", "nt"):
        return None
    return "".join(w for w, _ in tagged[:-2]) + focus + action


def _merge(question: str, topic_question: str) -> str:
    topic = topic_of(topic_question)
    if not topic:
        return question
    if has_demonstrative(question):
        return replace_demonstrative(question, topic)
    period = _PERIOD_WORDS.search(question)
    old_period = _PERIOD_WORDS.search(topic_question)
    frame = _LEADING_FILLER.sub("", question.strip())
    frame = _PERIOD_WORDS.sub("", frame).strip("，, ")
    frame = re.sub(r"^[呢吗？?。！!]+$", "", frame)
    if not frame:  # "那下半年呢？": keep the old question's frame, swap the period
        tail = _QUESTION_TAIL.search(topic_question).group(0) or "？"
        frame = tail if tail.endswith(("？", "?")) else tail + "？"
        # Asking what was done of a plan period reads wrong: "下半年…做了什么" becomes "…有什么安排";
        # and the other way round: "去年…有什么安排" becomes "…做了什么".
        if period and _PLAN_PERIOD.fullmatch(period.group(0)) and _DONE_FRAME.search(frame):
            frame = "有什么安排？"
        elif period and _DONE_PERIOD.fullmatch(period.group(0)) and _PLAN_FRAME.search(frame):
            frame = "做了什么？"
    elif not frame.endswith(("？", "?", "。")):
        frame += "？"
    prefix = period.group(0) if period else (old_period.group(0) if old_period else "")
    return f"{prefix}{topic}{frame}"
