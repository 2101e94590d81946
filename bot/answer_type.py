"""The kind of detail a question asks for, and whether a passage holds one of that kind.

"门票多少钱" wants a price, "哪天开放" a date, "几点开门" a clock time, "建在哪个村" a named place,
"县长是谁" a person, "多少张床位" a count of beds. A report can speak of the very topic and still hold
no such detail: that is a near miss, to be told apart from a paraphrase whose answer is there in other
words. These are general readings of Chinese question forms, not a list of expected questions.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = r"(?:\d[\d.]*|[*＊]+|[一二两三四五六七八九十百千]+)"
_MAGNITUDE = r"(?:多|余)?(?:[万亿千百]{1,2})?(?:多|余)?"  # "1.2万亿元", "30余万"
_CJK = r"[\u4e00-\u9fff]"


@dataclass(frozen=True)
class DetailKind:
    name: str
    asked: re.Pattern[str]  # the question asks for this kind of detail
    held: re.Pattern[str]  # a text holds one
    label: str = ""  # how an answer names it when the report does not give it


KINDS = (
    # A price per unit ("门票多少钱", "每月交多少钱") is not a budget ("投资1.2亿元"); any other "多少钱" asks
    # a total ("为企业退减税费多少钱", "一共要花多少钱").
    # A price is a sum of 元 (or free of charge); a rate is a share. Neither answers the other.
    DetailKind("price", re.compile(r"价格|价钱|票价|单价|均价|起步价|收费标准|租金|"
                                   r"(?:门票|每[人月年天次斤个张度户晚平])[^，。？]{0,6}多少钱|多少钱?一[斤度个张次晚]|"
                                   r"[交收要花]钱吗|收费吗|收不收费|要不要钱"),
               re.compile(r"\d[\d.]*元(?!.?亿)|免费|不收费|零收费"), "具体价格或费用"),
    DetailKind("rate", re.compile(r"利率|费率|税率"), re.compile(r"\d[\d.]*%|折|基点|LPR", re.IGNORECASE),
               "具体比率"),
    DetailKind("total", re.compile(r"多少钱|(?:要花|花了|投了|投入了?|(?<!使)用了|总投资|投资了?|赚|挣)多少(?:[亿万]?元|[亿万]|钱)?(?![\u4e00-\u9fff])|"
                                   # a sum of money by its name; "收入增长了多少" asks a rate instead
                                   r"(?:收入|营收|产值|销售额|税收|利润|成交额|交易额|总额|金额)(?:是|有|为|达到)?多少"),
               # "发放保障金**万": a sum in 万/亿 says 元 without writing it, unless a unit follows ("万人").
               re.compile(rf"{_NUMBER}{_MAGNITUDE}元|{_NUMBER}(?:多|余)?(?:万|亿)(?!{_CJK})"), "具体金额"),
    DetailKind("length", re.compile(r"多长(?!时间)|多宽|多高|多深|多远|长度|里程"),
               re.compile(r"\d[\d.]*\s*(?:公里|千米|米|km)", re.IGNORECASE), "具体长度"),
    DetailKind("clock", re.compile(r"几点|开放时间|营业时间"), re.compile(r"\d{1,2}[:：点]\d{0,2}"), "具体时间"),
    DetailKind("date", re.compile(r"哪天|哪一天|几号|几月|哪个月|什么日子"),
               re.compile(rf"{_NUMBER}月|{_NUMBER}日|{_NUMBER}号|月底|月初|春节|国庆"), "具体日期"),
    # "哪年" wants a year; "什么时候" is answered by a date, a stage or "已建成" as well.
    DetailKind("year", re.compile(r"哪年|哪一年|哪个年份"),
               re.compile(r"(?:19|20)\d{2}\s*年|今年|明年|去年|当年|年底|年内|年初"), "具体年份"),
    DetailKind("when", re.compile(r"什么时候|何时|多久|多长时间"),
               re.compile(rf"{_NUMBER}\s*(?:年|月|日|天|个月|周)|今年|明年|年底|年内|年初|月底|上半年|下半年|底前|前完成|已经|已于|"
                          r"建成|投用|开通|完成"),
               "具体时间"),
    DetailKind("place", re.compile(r"哪个(?:村|镇|乡|街|路|小区|社区|位置)|哪条(?:街|路)|建在哪|设在哪|在哪个地方|具体位置|"
                                   r"哪(?:几个|些)地方|在哪里|在哪儿"),
               re.compile(rf"{_CJK}{{2,6}}(?:村|镇|乡|街道|大街|路|街|社区|小区)"), "具体地点"),
    DetailKind("person", re.compile(r"是谁|叫什么名字|哪位|谁是|谁负责"),
               re.compile(rf"(?:同志|书记|市长|县长|区长){_CJK}{{2,3}}|{_CJK}{{2,3}}(?:同志|先生|女士)"), "人员姓名"),
    # What people ask a service desk, which a work report does not give: the weather, a score line, the
    # papers to bring.
    DetailKind("weather", re.compile(r"天气|气温|多少度(?!电)|几度|下不下雨|会下雨"),
               re.compile(r"-?\d+\s*(?:℃|摄氏度)|晴转|多云|阵雨|雷阵雨"), "天气预报"),
    DetailKind("score", re.compile(r"分数线|多少分|几分(?!之)"),
               re.compile(rf"{_NUMBER}\s*分(?![之钟局类别批期步工配析布担享散])"), "具体分数"),
    DetailKind("procedure", re.compile(r"(?:准备|提交|提供|带|需要)(?:哪些|什么|啥)(?:材料|证件|资料)|"
                                       r"(?:怎么|如何)(?:办理|申请)|(?:去|在)哪(?:里|儿)?(?:办理|申请|办)"),
               re.compile(r"身份证|户口簿|户口本|证明材料|申请表|办事指南|一网通办|一窗|办结|网上办|掌上办|就近办"),
               "办理所需材料或流程"),
    # The number to call, not a count of calls ("热线接了多少个电话").
    DetailKind("contact", re.compile(r"电话(?:号码)?(?:是|为)?(?:多少|几号)(?![个次条通])|联系电话|联系方式|号码|网址|邮箱|"
                                     r"(?:打|拨)(?:什么|哪个)电话"),
               re.compile(r"\d{5,}|www\.|@"), "联系方式"),
)
# "多少张床位", "几个项目": the unit counted in. "那几条河", "好几个" point or say "several": they ask no count.
_UNITS = "平方公里|平方米|公顷|个|件|户|次|人|项|家|栋|条|名|所|座|套|张|台|吨|亩|斤|辆|间|位|处|公里|米|岁|价"
_COUNT = re.compile(rf"(?:多少|(?<![这那好前近])几)({_UNITS})")


def is_unit(word: str) -> bool:
    """A unit a count is asked in ("公里" of "换多少公里"): part of the question's frame, not its topic."""
    return bool(re.fullmatch(_UNITS, word))


# "多少人", "几个": asking a count, in a unit or none.
COUNT_ASKED = rf"(?:几|多少)(?:{_UNITS})?"


def asked_kinds(question: str) -> list[DetailKind]:
    kinds = [kind for kind in KINDS if kind.asked.search(question)]
    if any(kind.name == "price" for kind in kinds):  # "门票多少钱": per ticket, not a sum of tickets
        kinds = [kind for kind in kinds if kind.name != "total"]
    return kinds


# A unit character that begins a noun ("多少项目", "多少人口") counts in no unit of its own.
_UNIT_IN_NOUN = {"项": "目", "人": "口员数", "家": "庭", "户": "数籍", "次": "数", "名": "额单", "座": "位", "台": "账"}


def counted_unit(question: str) -> str:
    """The unit a counting question counts in ("张" of "多少张床位"), or "" when it names none: a bare
    "多少" may want a share, a growth rate or an amount, which no one pattern tells."""
    match = _COUNT.search(question)
    if not match or any(kind.asked.search(question) for kind in KINDS):
        return ""
    unit, after = match.group(1), question[match.end():match.end() + 1]
    if after and after in _UNIT_IN_NOUN.get(unit, ""):
        return "个"  # "多少项目" is "多少个项目": any count answers it
    return unit


# People are counted as 人次, 名 or by who they are ("11.2万市民参加"); households as 户 too; places as 个.
_UNIT_ALIASES = {"人": "人次|人|名|位|市民|群众|居民|学生|职工|农民", "家": "家|户", "次": "次|人次|场", "处": "处|个"}


def _count_pattern(unit: str) -> str:
    # 个 is the everyday classifier for anything: "接了多少个" is answered by "接听**余条", "立案*起".
    units = f"{_UNITS}|通|起" if unit == "个" else _UNIT_ALIASES.get(unit, re.escape(unit))
    return rf"{_NUMBER}{_MAGNITUDE}(?:{units})"


def holds_count(unit: str, text: str) -> bool:
    return bool(re.search(_count_pattern(unit), text))


_FIGURE_OF = 6  # characters before a figure that say what it counts ("新增公办学位" of "7700个")
_ANY_FIGURE = rf"{_NUMBER}{_MAGNITUDE}(?:{_UNITS}|通|起|元|%)"
# A target or a result in figures: a number with its unit ("35个以上", "230亿元", "增长6.5%"), not a
# number in a name ("四类500强") or a year.
MEASURED = re.compile(rf"(?:\d[\d.]*|[*＊]+){_MAGNITUDE}(?:{_UNITS}|元|%|倍|个百分点|千瓦|兆瓦|万千瓦)")


def _named_share(word: str) -> float:
    """How much of a word the words before a figure must hold to name it: half of a short word ("托" of
    托儿); most of a long one, whose half is often a word of its own ("工资" of 最低工资, and "追回拖欠
    工资15.6亿元" is no minimum wage)."""
    return 0.5 if len(word) <= 3 else 0.75


def counts_something_named(unit: str, text: str, words: tuple[str, ...], found: tuple[str, ...] = (),
                           actions: tuple[str, ...] = ()) -> bool:
    """``text`` gives a figure (in ``unit``; any figure when the question names none) right beside enough
    of the characters of one of ``words``: "托儿的地方" and "普惠性托位150个", "上学的位置" and "公办学位7700个";
    or after one of them next to one of the question's ``found`` words ("翻新多少个老房子小区" and "改造
    老旧小区140个"). A figure of something else ("地铁修了多少公里" and "新建城市道路32公里") is not.
    Characters of the ``found`` words prove nothing new ("能贷" and "贷款134亿元" when 贷款 was asked
    too), and a single character left says too little ("能" and "用能40万吨"). A found word with the
    question's own action names the figure too: "防疫电话一共接了多少个" and "接听防疫热线**余条"."""
    # A count may name its thing by the first character in place of a unit: "6金3银" for 金牌 and 银牌.
    if any(re.search(rf"(?:\d+|[*＊]+){re.escape(w[0])}", text) for w in words if len(w) == 2):
        return True
    known = "".join(found)
    actions = tuple(a for a in actions if not any(ch in known for ch in a))
    words = tuple(w for w in ("".join(ch for ch in word if ch not in known) for word in words) if len(w) > 1)
    pattern = _count_pattern(unit) if unit else _ANY_FIGURE
    for match in re.finditer(pattern, text):
        for name in _names_beside(text, match):
            if any(character_share((word,), name) >= _named_share(word) for word in words):
                return True
            if any(term in name for term in found) and \
                    (any(character_share((word,), name) > 0 for word in words) or any(a in name for a in actions)):
                return True
    return False


_CLAUSE_END = r"[，,、；;：:。]"


def _names_beside(text: str, figure: re.Match) -> tuple[str, str]:
    """What may name a figure: the words before it ("新增公办学位" of "7700个") and, since a count
    often comes first ("359个“三无小区”"), the words after it, each within its clause."""
    before = re.split(_CLAUSE_END, text[max(0, figure.start() - _FIGURE_OF):figure.start()])[-1]
    after = re.split(_CLAUSE_END, text[figure.end():figure.end() + _FIGURE_OF])[0]
    return before, after


# Kinds whose detail is a figure of something: "旅游收入是多少" is not answered by "营业收入**亿元".
_FIGURE_KINDS = {"price", "rate", "total", "length"}


def character_share(words: tuple[str, ...] | list[str], text: str) -> float:
    """The share of the words' characters that ``text`` holds: everyday words often share a character
    with the report's ("骗子" and 诈骗, "低保金" and 最低生活保障金). 1 when there are no words."""
    chars = "".join(words)
    return sum(1 for ch in chars if ch in text) / len(chars) if chars else 1.0


# A project's milestones: asked when it opens, a report that says when it starts has not answered.
_MILESTONES = {
    "start": re.compile(r"开工|动工|开建|开始(?:建设|建|修)|奠基"),
    "finish": re.compile(r"建成|建好|修好|完成|竣工|完工|通车|开通|投用|投入使用|投产|运营|开业|启用|交付|通航|落成"),
}
_TIME_KINDS = {"year", "when", "date"}


def _milestones(text: str) -> set[str]:
    return {name for name, pattern in _MILESTONES.items() if pattern.search(text)}


def is_milestone(word: str) -> bool:
    """"完工", "通车": a stage of the project under way, asked of it ("什么时候完工？")."""
    return bool(_milestones(word))


def _holds(kind: DetailKind, text: str, terms: tuple[str, ...], milestones: set[str] = frozenset()) -> bool:
    """``text`` (one sentence) holds the kind of detail asked, and a figure is next to what it is a
    figure of: at least half the characters of one of the question's terms besides the measure ("收入");
    a time, of the milestone asked (``milestones``: "哪一年通车" is not answered by "将于今年开工建设").
    That time is of what the question asks about when the sentence has named it by then: "津潍高铁哪一年
    通车" is not answered by "东津黄河大桥工程年内建成通车"."""
    if kind.name in _TIME_KINDS and milestones:
        return _time_of_milestone(kind, text, terms, milestones)
    if not kind.held.search(text):
        return False
    if kind.name not in _FIGURE_KINDS:
        return True
    things = [t for t in terms if not _is_measure(t)]
    return not things or any(character_share((t,), text) >= 0.5 for t in things)


def _time_of_milestone(kind: DetailKind, text: str, terms: tuple[str, ...], milestones: set[str]) -> bool:
    things = [t for t in terms if not _milestones(t)]
    clauses = re.split(_CLAUSE_END, text)
    for at, clause in enumerate(clauses):
        if kind.held.search(clause) and milestones & _milestones(clause):
            if not things or any(t in said for said in clauses[:at + 1] for t in things):
                return True
    return False


# What a figure measures, as opposed to what it is a figure of ("旅游" of "旅游收入是多少").
_MEASURES = ("收入", "营收", "产值", "销售额", "税收", "利润", "成交额", "交易额", "总额", "金额", "投资", "价格", "价钱", "票价",
             "单价", "均价", "起步价", "租金", "收费标准", "利率", "费率", "税率", "长度", "里程")


def _is_measure(term: str) -> bool:
    """"收入", and "总产值" (a measure with a one-character prefix)."""
    return any(term.endswith(m) and len(term) - len(m) <= 1 for m in _MEASURES)


# "开通了哪些航线", "是哪五个馆": the names of facilities or routes of one kind, asked by their kind.
_NAMES_ASKED = re.compile(r"哪(?:些|几[个条家所座处]|[一二两三四五六七八九十][个条家所座处]|[个条家所座])"
                          r"(?P<kind>[\u4e00-\u9fff]{0,2}[线馆院场站园港桥])(?:[做看办去]|[？?，,。！!]|$)")
_COUNTED_BEFORE = "一二三四五六七八九十两几个条家所座处"


def _names_missing(question: str, texts: list[str]) -> bool:
    """The question asks which facilities or routes of a kind (``_NAMES_ASKED``) and no text names one:
    a name is words before the kind ("北海至东莞内贸集装箱直达航线", "市图书馆"), not a count of them
    ("“五馆两中心”")."""
    match = _NAMES_ASKED.search(question)
    if not match:
        return False
    kind = match.group("kind")
    named = re.compile(rf"[\u4e00-\u9fff]{{2,8}}(?<![{_COUNTED_BEFORE}]){re.escape(kind)}")
    return not any(named.search(text) for text in texts)


def missing_detail(question: str, texts: list[str], terms: tuple[str, ...] | list[str] = ()) -> str | None:
    """The kind of detail the question asks for that none of the texts (sentences) holds, named for an
    answer ("具体价格或费用", "具体数量"); None when nothing asked for is missing. ``terms``: the
    question's terms, one of which a figure must stand next to."""
    if _names_missing(question, texts):
        return "具体名称"
    kinds = asked_kinds(question)
    if kinds:
        milestones = _milestones(question)
        held = any(_holds(kind, text, tuple(terms), milestones) for kind in kinds for text in texts)
        return None if held else kinds[0].label
    unit = counted_unit(question)
    return "具体数量" if unit and not holds_count(unit, "\n".join(texts)) else None


def detail_missing(question: str, texts: list[str], terms: tuple[str, ...] | list[str] = ()) -> bool:
    return missing_detail(question, texts, terms) is not None
