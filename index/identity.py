"""A report's identity: its title, place, years and kind, read from its own text at ingest.

Read from what a report says of itself: the title line(s) at the top and the date and speaker lines
under them ("——2024年1月16日在亳州市第五届人民代表大会第三次会议上", "市人民政府市长…"), the address
("我代表顺平县人民政府…"), its part headings ("2023年工作回顾", "2024年工作安排", "上半年工作完成情况")
and the name it calls its place by. The file name is the last resort. A sidecar ``NAME.meta.yaml`` next to
the file, or YAML front matter at the top of a .md/.txt file, overrides any field read.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, fields, replace
from pathlib import Path

import yaml

from index.headings import heading_level, is_part_heading, without_number
from index.loaders import Block, LoadError
from index.outline import part_heading_indexes
from index.periods import DONE, PLAN, lead_in_phase, part_phase_by_words, period_of, years_named

ANNUAL, MID_YEAR, PLAN_KIND = "annual", "mid-year", "plan"
KINDS = (ANNUAL, MID_YEAR, PLAN_KIND)


@dataclass(frozen=True)
class ReportIdentity:
    title: str = ""  # "丽水市2024年政府工作报告"
    place: str = ""  # "丽水市"; "" unknown
    year: int = 0  # the year in the title / the year it is delivered (2024); 0 unknown
    kind: str = ""  # "annual" | "mid-year" | "plan" | ""
    review_year: int = 0  # the year its results part covers (2023 in a 2024 annual report)
    plan_year: int = 0  # the year its plans part covers (2024)


_FIELD_TYPES = {f.name: (str if f.name in ("title", "place", "kind") else int) for f in fields(ReportIdentity)}
_FIELD_LIST = "、".join(_FIELD_TYPES)


# --- overrides: sidecar file and front matter -------------------------------------------------

class IdentityFileError(LoadError):
    """A sidecar or front matter that cannot be used; the document is not indexed, nothing else is touched."""

    def __init__(self, path: Path, source: str, reason: str, reason_zh: str):
        super().__init__(path, f"{source}: {reason}", f"元数据“{source}”有误：{reason_zh}")


def sidecar_of(path: Path) -> Path:
    return path.with_name(f"{path.stem}.meta.yaml")


def read_sidecar(path: Path) -> dict | None:
    """The fields ``NAME.meta.yaml`` next to the file sets, None when there is no such file."""
    sidecar = sidecar_of(path)
    if not sidecar.is_file():
        return None
    try:
        text = sidecar.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IdentityFileError(path, sidecar.name, f"unreadable: {exc}", "文件无法读取（需为 UTF-8 文本）") from exc
    return parse_overrides(text, path, sidecar.name)


_FENCE = "---"
_FENCE_ENDS = ("---", "...")
_FRONT_MATTER_CAP = 60  # lines
_YAML_KEY = re.compile(r"[A-Za-z_][\w-]*\s*:")


def split_front_matter(blocks: list[Block], path: Path) -> tuple[dict | None, list[Block]]:
    """YAML front matter at the top of a .md/.txt file: the fields it sets, and the blocks after it."""
    if path.suffix.lower() not in (".md", ".txt"):
        return None, blocks
    lines = [b.text.strip() for b in blocks]
    first = next((i for i, line in enumerate(lines) if line), None)
    # A report may open with a rule of dashes: front matter is a fence followed by a "key:" line.
    after_fence = lines[first + 1] if first is not None and first + 1 < len(lines) else ""
    if first is None or lines[first] != _FENCE or not _YAML_KEY.match(after_fence):
        return None, blocks
    for end in range(first + 1, min(len(lines), first + _FRONT_MATTER_CAP)):
        if lines[end] in _FENCE_ENDS:
            text = "\n".join(b.text for b in blocks[first + 1:end])
            return parse_overrides(text, path, f"{path.name} 开头的元数据"), blocks[end + 1:]
    return None, blocks


def parse_overrides(text: str, path: Path, source: str) -> dict:
    """Fields set by YAML text; unknown keys and values of the wrong type are refused."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise IdentityFileError(path, source, f"invalid YAML: {exc}", "不是有效的 YAML") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise IdentityFileError(path, source, "not a mapping", f"应为“字段: 值”的形式（可用字段：{_FIELD_LIST}）")
    for key, value in data.items():
        _check_field(path, source, key, value)
    return {key: _FIELD_TYPES[key]() if value is None else value for key, value in data.items()}


def _check_field(path: Path, source: str, key, value) -> None:
    if key not in _FIELD_TYPES:
        raise IdentityFileError(path, source, f"unknown key {key!r}", f"未知字段“{key}”（可用字段：{_FIELD_LIST}）")
    wanted = _FIELD_TYPES[key]
    if value is None:
        return
    if wanted is int and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9999):
        raise IdentityFileError(path, source, f"{key} must be a year", f"“{key}”应为年份（如 2024）")
    if wanted is str and not isinstance(value, str):
        raise IdentityFileError(path, source, f"{key} must be text", f"“{key}”应为文字")
    if key == "kind" and value not in KINDS + ("",):
        raise IdentityFileError(path, source, f"kind must be one of {KINDS}",
                                f"“kind”应为 annual（年度报告）、mid-year（半年报告）或 plan（计划）")


# --- the head of the report: title, date and speaker lines -----------------------------------

_LEVELS = "特别行政区|自治区|自治州|自治县|地区|市|州|县|区|盟|旗|省"
_FULL_PLACE = re.compile(rf"[\u4e00-\u9fff]{{2,12}}?(?:{_LEVELS})")
_DATE_PLACE = re.compile(rf"在({_FULL_PLACE.pattern})第[一二三四五六七八九十百\d]+届人民代表大会")
_NATIONAL_CONGRESS = re.compile(r"在第[一二三四五六七八九十百\d]+届全国人民代表大会")
_DELIVERED = re.compile(r"((?:19|20)\d{2})年\d{1,2}月\d{1,2}日")
_SPEAKER = re.compile(
    rf"(?:^|会议上)\s*({_FULL_PLACE.pattern})?[市州县区盟旗省]?(?:人民)?(?:政府)?代?(?:市长|州长|县长|区长|省长|盟长|旗长|主席|总理)")
_ADDRESS = re.compile(r"各位代表|我代表")
_HEAD_LINES = 8
_TITLE_LINE_CAP = 40
_TITLE_WORDS = re.compile(r"报告|计划|总结|要点|工作")
_NOT_A_TITLE_LINE = re.compile(r"[。；，：]|会议|代表大会|^[—－（(]")


@dataclass
class _Head:
    title: str = ""
    place: str = ""
    year: int = 0
    national: bool = False


def _read_head(lines: list[str], title_hint: str) -> _Head:
    """The lines before the address: title lines (joined), the date line, the speaker line."""
    head = _Head()
    titles = [title_hint] if _TITLE_WORDS.search(title_hint) and len(title_hint) <= _TITLE_LINE_CAP else []
    for line in lines[:_HEAD_LINES]:
        if _ADDRESS.search(line) or heading_level(line) or is_part_heading(line) or len(line) > 80:
            break
        if _read_date_line(line, head):
            continue
        speaker = _SPEAKER.search(line) if len(line) <= 60 else None
        if speaker:
            head.place = head.place or speaker.group(1) or ""
        elif len(line) <= _TITLE_LINE_CAP and not _NOT_A_TITLE_LINE.search(line):
            titles.append(line)
    head.title = "".join(dict.fromkeys(titles))
    return head


def _read_date_line(line: str, head: _Head) -> bool:
    """"——2024年1月16日在亳州市第五届人民代表大会第三次会议上": the place and the year it is delivered."""
    date_place, delivered = _DATE_PLACE.search(line), _DELIVERED.search(line)
    national = bool(_NATIONAL_CONGRESS.search(line))
    if not (date_place or delivered or national):
        return False
    head.place = head.place or (date_place.group(1) if date_place else "")
    head.year = head.year or (int(delivered.group(1)) if delivered else 0)
    head.national = head.national or national
    return True


# --- the place --------------------------------------------------------------------------------

_REPRESENT = re.compile(r"我代表国务院|我代表([^，,。：:]{0,12}?)(?:人民政府|政府)")
_LEVEL_ONLY = re.compile(rf"^(?:{_LEVELS})$")
# Words that fill the same slots as a place's name ("美丽乡村", "平安建设") but are not names.
_NOT_NAMES = frozenset(
    "城市 乡村 城乡 中国 全国 国家 社会 地区 区域 县域 农村 园区 社区 家园 家庭 校园 生活 建设 发展 经济 产业 文化 "
    "人民 群众 企业 政府 城区 新城 都市 示范 河湖 庭院 生态 环境 素养 乡镇 工作 城镇 各族 广大 全体".split())
_FUNCTION_CHARS = frozenset("的与及等是在为了对把被将从向之而或也又并")
_GENERIC_FIRST = frozenset("全我本各该省市县州区")
# Where reports use their place's name: "美丽丽水", "平安顺平", "中国式现代化X新篇章", "X之干", and
# with its level ("丽水市"); a name found in three kinds of slot is the report's own.
_BEFORE_NAME = ("美丽", "平安", "健康", "现代化", "新时代", "幸福")
_AFTER_NAME = ("篇章", "新篇", "人民", "之干", "样板", "经验", "特色")
_NOT_A_LEVEL_AFTER = {"市": "场值民", "县": "域城级", "区": "域块间"}
_OWN_LEVELS = {"[我本]{}": ("市", "州", "县", "区", "省"), "全{}": ("市", "州", "县", "区")}
_SLOT_KINDS_NEEDED = 3
_STEM_MENTIONS_NEEDED = 3


def _level_of(text: str, named: str) -> str:
    """The level of the body that reports: "市" from "我代表市人民政府", else the most used "全市/我市"."""
    if named and (level := re.search(rf"(?:{_LEVELS})$", named)):
        return level.group(0)
    for pattern in ("[我本]{}", "全{}"):  # "全省第一" ranks a city in its province: 全省 says nothing
        counts = Counter({level: len(re.findall(pattern.format(level), text)) for level in _OWN_LEVELS[pattern]})
        level, count = counts.most_common(1)[0]
        if count:
            return level
    return ""


def _is_name(candidate: str) -> bool:
    return (re.fullmatch(r"[\u4e00-\u9fff]{2,4}", candidate) is not None and candidate not in _NOT_NAMES
            and not _FUNCTION_CHARS & set(candidate) and candidate[0] not in _GENERIC_FIRST)


def _name_slots(text: str, level: str) -> dict[str, set[str]]:
    slots: dict[str, set[str]] = defaultdict(set)
    for word in _BEFORE_NAME:
        for match in re.finditer(word, text):
            for n in (2, 3, 4):
                if _is_name(name := text[match.end():match.end() + n]):
                    slots[name].add(word)
    for word in _AFTER_NAME + ((level,) if level else ()):
        for match in re.finditer(word, text):
            if _continues_word(text, match.end(), _NOT_A_LEVEL_AFTER.get(word, "")):
                continue
            for n in (2, 3, 4):
                if match.start() >= n and _is_name(name := text[match.start() - n:match.start()]):
                    slots[name].add(word)
    return slots


def _continues_word(text: str, at: int, chars: str) -> bool:
    """"市" of "市场" is no level: the character after it makes another word."""
    return bool(chars) and at < len(text) and text[at] in chars


def _name_in_text(text: str, level: str) -> str:
    """The name a report calls its own place by: the most used name found in three kinds of slot; a
    longer form wins when it is used nearly as often ("乌鲁木齐" over "乌鲁")."""
    slots = _name_slots(text, level)
    ranked = sorted(((text.count(n), n) for n, kinds in slots.items() if len(kinds) >= _SLOT_KINDS_NEEDED),
                    reverse=True)
    if not ranked:
        return ""
    count, best = ranked[0]
    for other_count, other in ranked:
        if best in other and len(other) > len(best) and other_count >= 0.8 * count:
            count, best = other_count, other
    return best


def _name_in_stem(stem: str, text: str) -> str:
    """The place a file is named after ("德州", "丽水市2024"), when the text uses that name too."""
    run = re.match(r"[\u4e00-\u9fff]{2,8}", stem)
    name = run.group(0) if run else ""
    if len(bare := re.sub(rf"(?:{_LEVELS})$", "", name)) >= 2:
        name = bare
    plausible = 2 <= len(name) <= 6 and name not in _NOT_NAMES and not _TITLE_WORDS.search(name)
    return name if plausible and text.count(name) >= _STEM_MENTIONS_NEEDED else ""


def _read_place(text: str, head: _Head, stem: str) -> tuple[str, bool]:
    """The report's place in full ("丽水市"), and whether the State Council's report it is."""
    represent = _REPRESENT.search(text[:3000])
    if head.national or represent and represent.group(0) == "我代表国务院":
        return "全国", True
    named = represent.group(1) if represent else ""
    title_place = _FULL_PLACE.match(head.title)
    for explicit in (head.place, named, title_place.group(0) if title_place else ""):
        if explicit and not _LEVEL_ONLY.match(explicit) and _FULL_PLACE.fullmatch(explicit):
            return explicit, False
    level = _level_of(text, named)
    name = _name_in_text(text, level) or _name_in_stem(stem, text)
    return (name + level if name and level else name), False


# --- years and kind from the part headings ----------------------------------------------------

@dataclass
class _Parts:
    review: int = 0  # the year the results part covers, as the part headings name it
    plan: int = 0  # the year the plans part covers
    other: int = 0  # a year a part names without saying which
    halves: bool = False  # parts named by 上半年 / 下半年
    has_review: bool = False
    has_plan: bool = False


def _read_parts(blocks: list[Block]) -> _Parts:
    """What the part headings say. Two years in a row ("奋力完成2023年…", "全力实现2024年…") are the
    year reviewed and the year planned, whatever the words; a single year goes by the words."""
    parts = _Parts()
    indexes, _ = part_heading_indexes(blocks)
    named: list[tuple[int, str]] = []
    for i in indexes:
        title = without_number(blocks[i].text)
        phase = part_phase_by_words(title)
        parts.halves = parts.halves or period_of(title) in ("上半年", "下半年")
        parts.has_review = parts.has_review or phase == DONE
        parts.has_plan = parts.has_plan or phase == PLAN
        named += [(year, phase) for year in years_named(title)[:1]]
    years = sorted({year for year, _ in named})
    if len(years) == 2 and years[1] - years[0] == 1:
        parts.review, parts.plan = years
        return parts
    for year, phase in named:
        if phase == DONE:
            parts.review = parts.review or year
        elif phase == PLAN:
            parts.plan = parts.plan or year
        else:
            parts.other = parts.other or year
    return parts


def _years_in_text(lines: list[str]) -> tuple[int, int]:
    """The years paragraphs open with ("2023年是…", "2024年是…的关键一年") when they are two in a row:
    the year reviewed and the year planned of an annual report whose headings name neither."""
    opening = sorted({int(m.group(1)) for line in lines if (m := re.match(r"((?:19|20)\d{2})年", line))})
    pairs = [(a, b) for a, b in zip(opening, opening[1:]) if b - a == 1]
    return pairs[-1] if len(pairs) == 1 else (0, 0)


_ANNUAL_ADDRESS = re.compile(r"向大会(?:报告|作)[^。]{0,6}工作|报告政府工作")


def _read_kind(lines: list[str], title: str, parts: _Parts, national: bool) -> str:
    """Annual (a year's results and the next year's plans), mid-year (上半年 / 下半年), plan, or ""."""
    if national:
        return ANNUAL
    if parts.halves or re.search(r"上半年|半年", title):
        return MID_YEAR
    if "政府工作报告" in title or _ANNUAL_ADDRESS.search("\n".join(lines[:8])):
        return ANNUAL
    if re.search(r"计划|要点", title):
        return PLAN_KIND
    reviews = parts.has_review or any(lead_in_phase(line) == DONE for line in lines)
    plans = parts.has_plan or any(lead_in_phase(line) == PLAN for line in lines)
    if reviews and plans or parts.review and parts.plan == parts.review + 1:
        return ANNUAL
    return PLAN_KIND if plans else ""


def _read_years(kind: str, head: _Head, parts: _Parts, lines: list[str], stem: str) -> tuple[int, int, int]:
    """(year, review_year, plan_year)."""
    named = next((y for y in [head.year, *years_named(head.title)] if y), 0)
    stem_year = next((int(y) for y in re.findall(r"(?<!\d)(?:19|20)\d{2}(?!\d)", stem)), 0)
    if kind == ANNUAL:
        year = named or parts.plan or (parts.review + 1 if parts.review else 0) or _years_in_text(lines)[1] \
            or stem_year
        return year, (year - 1 if year else 0), year
    if kind == MID_YEAR:
        year = named or parts.review or parts.plan or parts.other or stem_year
        return year, year, year
    if kind == PLAN_KIND:
        year = named or parts.plan or parts.other or stem_year
        return year, 0, year
    year = named or parts.plan or parts.review or stem_year
    return year, parts.review, parts.plan


# --- the title --------------------------------------------------------------------------------

_KIND_TITLES = {ANNUAL: "政府工作报告", MID_YEAR: "上半年工作报告", PLAN_KIND: "工作计划", "": "工作报告"}


def _read_title(head_title: str, place: str, year: int, kind: str, national: bool) -> str:
    """The report's own title, given the place and year when it leaves them out ("政府工作报告" ->
    "亳州市2024年政府工作报告"); composed from place, year and kind when it has none; "" when nothing
    is known."""
    short = re.sub(rf"(?:{_LEVELS})$", "", place) if place and not national else ""
    body = "国务院" if national else place
    year_text = f"{year}年" if year else ""
    if head_title:
        has_place = not body or body in head_title or (short and short in head_title) \
            or bool(_FULL_PLACE.match(head_title))
        has_year = not year or str(year) in head_title
        title = head_title if has_year else f"{year_text}{head_title}"
        return title if has_place else f"{body}{title}"
    if not body and not year:
        return ""
    return f"{body}{year_text}{_KIND_TITLES[kind]}"


# --- reading it all ---------------------------------------------------------------------------

def read_identity(blocks: list[Block], file_stem: str, title_hint: str = "",
                  overrides: dict | None = None) -> ReportIdentity:
    """The identity of a report from its cleaned blocks; ``title_hint`` is a title the file carries
    outside its text (a Word Title paragraph or document property), ``overrides`` what a sidecar or
    front matter sets."""
    lines = [b.text for b in blocks if b.text]
    text = "\n".join(lines)
    head = _read_head(lines, title_hint if title_hint != file_stem else "")
    place, national = _read_place(text, head, file_stem)
    parts = _read_parts([b for b in blocks if b.text])
    kind = _read_kind(lines, head.title, parts, national)
    year, review_year, plan_year = _read_years(kind, head, parts, lines, file_stem)
    read = ReportIdentity("", place, year, kind, review_year, plan_year)
    return _titled(read, overrides or {}, head.title, national, file_stem)


def _titled(read: ReportIdentity, overrides: dict, head_title: str, national: bool, stem: str) -> ReportIdentity:
    """The identity read with the fields set by overrides replaced, and its title: set, or the report's
    own completed with place and year, or composed; the file name when nothing is known. Years that
    follow from a changed year or kind follow it unless set too."""
    identity = replace(read, **overrides)
    if ("year" in overrides or "kind" in overrides) and not {"review_year", "plan_year"} & set(overrides):
        year = identity.year
        review, plan = {ANNUAL: (year - 1, year), MID_YEAR: (year, year), PLAN_KIND: (0, year)}.get(
            identity.kind, (identity.review_year, identity.plan_year))
        identity = replace(identity, review_year=review if year else 0, plan_year=plan if year else 0)
    if "title" not in overrides:
        title = _read_title(head_title, identity.place, identity.year, identity.kind,
                            national and "place" not in overrides)
        identity = replace(identity, title=title)
    return identity if identity.title else replace(identity, title=stem)
