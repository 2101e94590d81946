"""The library's reports and what each is: title, place, years, kind (read at ingest, see index.identity)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from index.identity import ReportIdentity
from index.store import ChunkStore

# Administrative suffixes a place is often named without: "丽水市" is asked about as "丽水".
_PLACE_SUFFIX = re.compile(r"(特别行政区|自治区|自治州|自治县|地区|新区|市|县|区|省|州|盟|旗|镇|乡)$")


@dataclass(frozen=True)
class Report:
    doc_id: str
    identity: ReportIdentity

    @property
    def title(self) -> str:
        return self.identity.title or self.doc_id

    @property
    def place_names(self) -> tuple[str, ...]:
        """The ways a question names the report's place: in full, and without its suffix."""
        place = self.identity.place
        if not place:
            return ()
        short = _PLACE_SUFFIX.sub("", place)
        return (place, short) if len(short) >= 2 and short != place else (place,)

    @property
    def years(self) -> frozenset[int]:
        """Every year the report speaks for: its own, its results', its plans'."""
        ident = self.identity
        return frozenset(y for y in (ident.year, ident.review_year, ident.plan_year) if y)

    @property
    def sort_key(self) -> tuple:
        """Newest first, then by title."""
        return (-self.identity.year, self.title)


class Catalog:
    """The live reports, re-read only when the index changed."""

    def __init__(self, store: ChunkStore):
        self.store = store
        self._cached: tuple[int, list[Report]] | None = None

    def reports(self) -> list[Report]:
        revision = self.store.revision()
        if self._cached is None or self._cached[0] != revision:
            firsts = self.store.chunks_where({"ordinal": 0})
            reports = [Report(c.meta.doc_id, c.meta.identity) for c in firsts]
            self._cached = (revision, sorted(reports, key=lambda r: r.sort_key))
        return self._cached[1]

    def by_id(self) -> dict[str, Report]:
        return {r.doc_id: r for r in self.reports()}
