"""A chunk's metadata: one typed record on both sides of Chroma, and its one flat encoding."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from index.identity import ReportIdentity
from index.section_path import SectionPath


@dataclass(frozen=True)
class ChunkMeta:
    doc_id: str
    doc_title: str = ""
    doc_hash: str = ""  # the document's content hash when the chunk was stored
    start: int = 0  # offsets into the cleaned text of the document
    end: int = 0
    ordinal: int = 0  # position among the document's chunks
    section_id: int = -1  # -1: text before the first heading
    topic_id: int = -1  # the level-2 (or shallower) section a broad answer expands to
    section_path: str = ""
    section_title: str = ""
    period: str = ""  # 上半年 / 下半年 / 全年 / 明年, from the heading
    phase: str = ""  # "done" | "plan" | ""
    masked: bool = False  # the text holds a withheld figure (* / **)
    # The report's identity (index.identity), flat for Chroma's metadata filters; doc_title is its title.
    doc_place: str = ""
    doc_year: int = 0
    doc_kind: str = ""
    doc_review_year: int = 0
    doc_plan_year: int = 0

    @property
    def identity(self) -> ReportIdentity:
        return ReportIdentity(self.doc_title, self.doc_place, self.doc_year, self.doc_kind, self.doc_review_year,
                              self.doc_plan_year)

    @property
    def path(self) -> SectionPath:
        return SectionPath.parse(self.section_path)

    def continues(self, previous: ChunkMeta) -> bool:
        """This chunk goes on with the paragraph ``previous`` was cut from: it starts where that one
        ends (a new paragraph starts further on, past the line break)."""
        return self.doc_id == previous.doc_id and self.start == previous.end


def embed_text_of(section_path: str, passage: str) -> str:
    """The text embedded and keyword-indexed for a chunk: its section path, then the passage, so a
    passage about 秸秆 knows it sits in 生态环境."""
    return f"{section_path}\n{passage}" if section_path else passage


_FIELDS = tuple(f.name for f in fields(ChunkMeta))


def encode_meta(meta: ChunkMeta) -> dict:
    """Chroma's flat metadata dict (str / int / bool values only)."""
    return asdict(meta)


def decode_meta(flat: dict) -> ChunkMeta:
    """Read a stored dict back; keys of the store's own bookkeeping are left out, missing ones default."""
    return ChunkMeta(**{name: flat[name] for name in _FIELDS if name in flat})
