"""Periods (上半年 / 下半年 / 全年 / 明年) and phases (results or plans): the words that mark them in a
report's headings and in a question, and how a heading or a question is read for them.

A new period (say 第三季度) is one more ``Period`` below.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DONE, PLAN = "done", "plan"  # a part reports results / sets out plans; "" when it does not say


@dataclass(frozen=True)
class Period:
    name: str
    phase: str  # what a section whose heading names the period holds
    in_heading: tuple[str, ...]  # words that name it in a heading
    in_question: tuple[str, ...]  # words that name it in a question
    example: str  # an example question about one of its sections ("{}": the section's topic)


# In the order a heading is read: the first period it names is its period.
PERIODS = (
    Period("上半年", DONE, ("上半年",), ("上半年", "前半年", "今年以来", "截至目前", "目前为止", "first half", "so far"),
           "上半年“{}”方面做了哪些工作？"),
    Period("下半年", PLAN, ("下半年", "下一步"), ("下半年", "后半年", "second half"), "下半年“{}”方面有什么计划？"),
    Period("明年", PLAN, ("明年", "下一年度", "来年"), ("明年", "下一年", "来年", "next year"),
           "明年“{}”方面有什么计划？"),
    Period("全年", "", ("全年",), ("全年",), "全年“{}”方面有哪些安排？"),
)
_BY_NAME = {p.name: p for p in PERIODS}
_DEFAULT_EXAMPLE = "报告中关于“{}”讲了什么？"

# Part headings say results or plans in many ways ("上半年度工作完成情况", "2022年工作回顾", "2023年工作安排",
# "2024年主要任务", "2024年工作建议"). Words both kinds of part use ("主要工作", "重点工作") are left to the year.
_DONE_PART_WORDS = ("完成情况", "回顾", "总结", "成效", "成绩", "进展情况", "过去一年", "过去五年", "去年", "今年以来")
_PLAN_PART_WORDS = ("计划", "安排", "打算", "部署", "思路", "展望", "目标", "任务", "建议", "要求", "工作重点",
                    "今年", "今后")
# A part about the government's own conduct ("全面加强政府自身建设") reports neither.
_OWN_CONDUCT_WORDS = ("自身建设",)
# Any of these makes a short line with a time in it a part heading ("2024年主要工作").
_PART_WORDS = _DONE_PART_WORDS + _PLAN_PART_WORDS + ("工作",)
# The time a part heading names: a year, or a period relative to the report.
_PART_TIME = re.compile(r"(?<!\d)(?:19|20)\d{2}年|今年|去年|明年|过去一年|过去五年|今后|上半年|下半年")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})年")
# When a part's heading is missing, the line that introduces its list of work opens it:
# "一年来，我们主要做了以下工作：" (results), "重点做好十个方面工作：" (plans).
_LIST_AHEAD = r"(?:以下|如下|[一二三四五六七八九十\d]+(?:个方面|件|项|方面))"
_DONE_LEAD_IN = re.compile(rf"(?:做了|抓了|开展了|完成了|推进了){_LIST_AHEAD}|主要工作(?:如下|是)|工作报告如下")
_PLAN_LEAD_IN = re.compile(rf"(?:做好|抓好|推进|抓实|突出){_LIST_AHEAD}")
_LEAD_IN_CAP = 40
# Time words of a question that tell the phase without naming one of the periods.
_DONE_TIME_WORDS = ("去年", "过去一年", "上一年", "last year")
_PLAN_TIME_WORDS = ("下一步", "下步", "接下来", "今后", "将来", "未来")
# Verbs of doing vs. intending: they tell the phase only when no time word does.
_DOING = re.compile(r"已经|做了|干了|完成了|取得了|开展了|实现了|落实了|推进了|did|done|achieved", re.IGNORECASE)
# Asking how something is going or went ("治安好不好", "搞得怎么样", "有什么成效") asks for results: a plan
# cannot be judged yet. Read as doing, so a question that also names a plan stays undecided.
_ASSESSING = re.compile(r"怎么样|咋样|好不好|行不行|表现|成效|效果|进展|成绩|成果")
# A bare "计划" counts only as a word of its own (so "三年行动计划" stays a name).
_INTENDING = re.compile(r"还要|还将|将要|要做|要抓|打算|安排|规划|部署|\bplans?\b|\bwill\b", re.IGNORECASE)
_INTENDING_WORDS = {"计划", "规划", "部署"}
# Words that only say when: a question made of these and a question frame has no topic of its own.
TIME_TOKENS = frozenset([p.name for p in PERIODS] + (
    "前半年 后半年 来年 今年 下一步 接下来 半年 上半 下半 今后 今年以来 截至目前 目前 目前为止 "
    "以来 至今 迄今 去年 过去 过去一年 上一年").split())
# Time words a follow-up swaps for those of the question before ("那下半年呢？").
_FOLLOWUP_TIME_WORDS = [p.name for p in PERIODS] + ["前半年", "后半年", "今年以来", "下一步", "接下来", "今年",
                                                      "去年", "过去一年"]


def _words(words, flags: int = 0) -> re.Pattern[str]:
    # Longest first, so "今年以来" is taken whole rather than as "今年".
    return re.compile("|".join(map(re.escape, sorted(dict.fromkeys(words), key=len, reverse=True))), flags)


def _of_phase(phase: str, attribute: str) -> list[str]:
    return [w for p in PERIODS if p.phase == phase for w in getattr(p, attribute)]


_HEADING_PERIODS = [(p.name, _words(p.in_heading)) for p in PERIODS]
_DONE_HEADING = _words(_DONE_PART_WORDS)
# "今年以来" is the first half of the year, not this year's plans.
_PLAN_HEADING = re.compile(rf"(?:{_words(_PLAN_PART_WORDS).pattern})(?!以来)")
_OWN_CONDUCT = _words(_OWN_CONDUCT_WORDS)
_PART_WORD = _words(_PART_WORDS)
NAMED_DONE = _words(_of_phase(DONE, "in_question") + list(_DONE_TIME_WORDS), re.IGNORECASE)
NAMED_PLAN = _words(_of_phase(PLAN, "in_question") + list(_PLAN_TIME_WORDS), re.IGNORECASE)
FOLLOWUP_TIME_WORDS = _words(_FOLLOWUP_TIME_WORDS)


def period_of(title: str) -> str:
    """The period a heading names, else ""."""
    for name, pattern in _HEADING_PERIODS:
        if pattern.search(title):
            return name
    return ""


def phase_of(title: str, level: int, review_year: int = 0, plan_year: int = 0) -> str:
    """What a heading's section holds: DONE, PLAN or "" when it does not say. Below the top level
    only a named period tells. A part says it by the period it names, else by the year it names
    relative to the report (the year the report plans, or the year before, which it reviews), else
    by its words."""
    period = _BY_NAME.get(period_of(title))
    if level > 1 or period and period.phase:
        return period.phase if period else ""
    if _OWN_CONDUCT.search(title):
        return ""
    by_year = _phase_by_year(title, review_year, plan_year)
    return by_year or part_phase_by_words(title)


def _phase_by_year(title: str, review_year: int, plan_year: int) -> str:
    years = set(years_named(title))
    if not review_year or not plan_year or review_year == plan_year or len(years) != 1:
        return ""
    return {plan_year: PLAN, review_year: DONE}.get(years.pop(), "")


def part_phase_by_words(title: str) -> str:
    """DONE or PLAN when a part heading's words tell ("工作回顾" / "工作安排"), "" when they do not or both do."""
    period = _BY_NAME.get(period_of(title))
    if period and period.phase:
        return period.phase
    done, plan = bool(_DONE_HEADING.search(title)), bool(_PLAN_HEADING.search(title))
    return (DONE if done else PLAN) if done != plan else ""


def years_named(text: str) -> list[int]:
    """The years a heading or title names, in order ("2023年工作回顾" -> [2023])."""
    return [int(y) for y in _YEAR.findall(text)]


def is_part_title(title: str) -> bool:
    """Whether a heading's words (its number left off) make it a part of a report: a time and a word of
    results or plans ("2023年工作回顾", "2024年主要任务"), or the government's own conduct."""
    return names_a_time(title) or bool(_OWN_CONDUCT.search(title))


def names_a_time(title: str) -> bool:
    """A part heading about a time: "2023年工作回顾", "今年经济社会发展目标任务", "下半年工作计划"."""
    return bool(_PART_TIME.search(title) and _PART_WORD.search(title))


def opens_review(paragraph: str, review_year: int) -> bool:
    """Whether a paragraph opens a report's review: "2023年是…", "过去一年，…", "刚刚过去的2023年…"."""
    year = f"{review_year}年[，,]?(?:是|在)|" if review_year else ""
    return bool(re.match(rf"(?:{year}过去的?一年|刚刚过去的)", paragraph))


def opens_plans(paragraph: str, plan_year: int) -> bool:
    """Whether a paragraph opens a report's plans: "2024年是…的关键一年", "今年是…", "做好今年工作…"."""
    year = f"{plan_year}年|" if plan_year else ""
    return bool(re.match(rf"(?:{year}今年)(?:是|，是|政府工作的?总体要求)|做好今年", paragraph))


def lead_in_phase(line: str) -> str:
    """DONE / PLAN when a short line introduces a list of work done or planned, else ""."""
    if len(line) > _LEAD_IN_CAP:
        return ""
    done, plan = bool(_DONE_LEAD_IN.search(line)), bool(_PLAN_LEAD_IN.search(line))
    return (DONE if done else PLAN) if done != plan else ""


def phase_of_question(question: str, tokens: list[str]) -> str:
    """DONE for results, PLAN for plans, "" when the question does not tell. Named times decide first;
    verbs of doing vs. intending only when none is named."""
    done, plan = bool(NAMED_DONE.search(question)), bool(NAMED_PLAN.search(question))
    if not (done or plan):
        done = bool(_DOING.search(question) or _ASSESSING.search(question))
        plan = bool(_INTENDING.search(question)) or any(t in _INTENDING_WORDS for t in tokens)
    return (DONE if done else PLAN) if done != plan else ""


def example_question(period: str, topic: str) -> str:
    """A question about the section ``topic`` of a part about ``period``."""
    entry = _BY_NAME.get(period)
    return (entry.example if entry else _DEFAULT_EXAMPLE).format(topic)
