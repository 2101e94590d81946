"""A synthetic library of annual reports, recombined from the parts of real ones, for scale benchmarks.

Each synthetic report is a plain-text annual report of a fictional place: a title line, the usual
"我代表…人民政府" opening, then whole top-level parts (heading and body, verbatim) taken from
different real reports: the review of the past year from one, the plans from another, the part on the
government's own conduct from a third. The part text is kept exactly as the project's own reader
cleaned it, so the chunks (section path + passage) are the real reports' chunks and their vectors come
from the embedding cache; only the opening lines are new text.

Everything is deterministic for a given seed and list of source files.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from index.chunking import read_document
from index.headings import heading_level
from index.loaders import LoadError, load_document
from index.periods import DONE, PLAN

REVIEW, PLANS, OWN_CONDUCT = "review", "plan", "other"
ROLE_OF_PHASE = {DONE: REVIEW, PLAN: PLANS}
# Characters common in Chinese place names; two of them and a level make a fictional place.
_NAME_CHARS = ("安宁平和丰乐康泰兴隆华阳春秋明清江河湖山川林泉石峰岭源溪桥城新云松柏兰桂梅竹"
               "金银玉瑞祥福永长远东西南北中仁德信义文武宜昌盛嘉庆嵩岚")
_LEVELS = ("市", "县", "区")
MAX_SOURCE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class SourcePart:
    doc_id: str  # the real report it comes from
    role: str  # REVIEW | PLANS | OWN_CONDUCT
    text: str  # heading and body, verbatim from the cleaned text

    @property
    def numbered(self) -> bool:
        """Whether the part's heading is numbered (一、…). Parts are only combined with parts headed
        alike: under an unnumbered part heading the 一、 headings are sections, under a numbered one
        they would be read as parts, and the chunks would no longer be the real report's."""
        return heading_level(self.text.split("\n", 1)[0]) is not None


@dataclass(frozen=True)
class SourceReport:
    doc_id: str
    place: str
    year: int
    parts: tuple[SourcePart, ...]

    def part(self, role: str) -> SourcePart | None:
        return next((p for p in self.parts if p.role == role), None)


@dataclass(frozen=True)
class SyntheticReport:
    file_name: str
    place: str
    year: int
    parts: tuple[SourcePart, ...]

    @property
    def title(self) -> str:
        return f"{self.place}{self.year}年政府工作报告"

    @property
    def text(self) -> str:
        level = self.place[-1]
        opening = (f"现在，我代表{self.place}人民政府，向大会报告政府工作，请予审议，"
                   f"并请{level}政协委员和其他列席人员提出意见。")
        return "\n\n".join([self.title, "各位代表：", opening, *(p.text for p in self.parts)]) + "\n"


def read_source(path: Path) -> SourceReport | None:
    """The top-level parts of a real local annual report; None when it lacks a review or a plans part
    (or is the State Council's report, whose parts would not read as a city's or a county's)."""
    try:
        identity, outline = read_document(load_document(path, MAX_SOURCE_BYTES), path.name)
    except LoadError:
        return None
    parts: list[SourcePart] = []
    tops = [section for section in outline.sections if section.parent is None]
    if len(tops) > 3:  # its numbered sections were read as parts: no clean review/plans split to take
        return None
    for section in tops:
        role = ROLE_OF_PHASE.get(section.phase, OWN_CONDUCT)
        if any(p.role == role for p in parts):
            continue  # a second part of the same kind: keep the first, so each role has one source
        parts.append(SourcePart(path.name, role, outline.text[section.start:section.end].strip()))
    roles = [p.role for p in parts]
    if identity.kind != "annual" or identity.place == "全国" or REVIEW not in roles or PLANS not in roles or roles.index(REVIEW) > roles.index(PLANS):
        return None
    return SourceReport(path.name, identity.place, identity.year, tuple(parts))


def read_sources(paths: list[Path]) -> list[SourceReport]:
    return [source for source in map(read_source, sorted(paths)) if source is not None]


def fictional_places(count: int, seed: int, avoid: set[str] = frozenset()) -> list[str]:
    """``count`` distinct made-up place names (two characters + 市/县/区), none whose name is in ``avoid``."""
    rng = random.Random(f"places-{seed}")
    stems = {place[:-1] if place[-1:] in "市县区州盟旗" else place for place in avoid}
    places: list[str] = []
    seen: set[str] = set()
    while len(places) < count:
        name = "".join(rng.sample(_NAME_CHARS, 2))
        if name in seen or name in stems:
            continue
        seen.add(name)
        places.append(name + rng.choice(_LEVELS))
    return places


def synthetic_reports(sources: list[SourceReport], count: int, seed: int = 2024) -> list[SyntheticReport]:
    """``count`` reports, each combining parts of two or three different sources (no combination twice)."""
    if len(sources) < 2:
        raise ValueError("synthetic reports need at least two real reports to recombine")
    rng = random.Random(f"reports-{seed}")
    places = fictional_places(count, seed, {s.place for s in sources})
    with_conduct = [s for s in sources if s.part(OWN_CONDUCT)]
    reports: list[SyntheticReport] = []
    used: set[tuple[str, ...]] = set()
    attempts = 0
    while len(reports) < count:
        attempts += 1
        if attempts > count * 50:
            raise ValueError(f"cannot make {count} distinct reports from {len(sources)} sources")
        review = rng.choice(sources)
        numbered = review.part(REVIEW).numbered
        def fits(source: SourceReport, role: str) -> bool:  # same year spoken of, headed alike
            return source.year == review.year and source.part(role).numbered == numbered

        plans = [s for s in sources if s is not review and fits(s, PLANS)]
        if not plans:
            continue
        plan_source = rng.choice(plans)
        conduct = [s for s in with_conduct if s not in (review, plan_source) and fits(s, OWN_CONDUCT)]
        chosen = [review.part(REVIEW), plan_source.part(PLANS)]
        if conduct:
            chosen.append(rng.choice(conduct).part(OWN_CONDUCT))
        key = tuple(p.doc_id for p in chosen)
        if key in used:
            continue
        used.add(key)
        place = places[len(reports)]
        reports.append(SyntheticReport(f"synthetic-{len(reports) + 1:04d}-{place}.txt", place, review.year,
                                       tuple(chosen)))
    return reports


def write_reports(reports: list[SyntheticReport], folder: Path) -> list[Path]:
    """Write the reports as UTF-8 text; files already holding the same text are left untouched."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for report in reports:
        path = folder / report.file_name
        text = report.text
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
