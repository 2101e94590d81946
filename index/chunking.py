"""Sentence-aware chunks that never cross a section and remember where they came from."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from index.cleaning import clean_paragraph, has_masked_figure
from index.identity import ReportIdentity, read_identity, split_front_matter
from index.loaders import Block, LoadedDocument
from index.meta import ChunkMeta, embed_text_of
from index.outline import Outline, parse_outline
from index.reflow import reflow
from index.sentences import split_sentences

_CLAUSE = re.compile(r"[^，,、：:]*(?:[，,、：:]|$)")


@dataclass
class Chunk:
    id: str
    text: str  # the original span, shown to users
    embed_text: str  # the span with its section path, for dense and keyword search
    meta: ChunkMeta


@dataclass
class ChunkedDocument:
    doc_id: str
    title: str  # the identity's title
    text: str  # cleaned source the offsets point into
    outline: Outline
    chunks: list[Chunk]
    identity: ReportIdentity = ReportIdentity()


def _split_long(sentence: str, cap: int) -> list[str]:
    """A sentence longer than the cap is cut at clause marks, and only as a last resort mid-clause."""
    parts: list[str] = []
    current = ""
    for clause in (c for c in _CLAUSE.findall(sentence) if c):
        while len(clause) > cap:
            if current:
                parts.append(current)
                current = ""
            parts.append(clause[:cap])
            clause = clause[cap:]
        if current and len(current) + len(clause) > cap:
            parts.append(current)
            current = ""
        current += clause
    if current:
        parts.append(current)
    return parts


def pack_sentences(text: str, cap: int) -> list[tuple[int, int]]:
    """Greedy packing of whole sentences into spans of at most ``cap`` characters."""
    units: list[str] = []
    for sentence in split_sentences(text):
        units.extend(_split_long(sentence, cap) if len(sentence) > cap else [sentence])
    spans: list[tuple[int, int]] = []
    begin = pos = 0
    for unit in units:
        if pos > begin and pos + len(unit) - begin > cap:
            spans.append((begin, pos))
            begin = pos
        pos += len(unit)
    if pos > begin:
        spans.append((begin, pos))
    # A short tail reads better joined to its neighbour when that stays near the cap.
    if len(spans) >= 2 and spans[-1][1] - spans[-1][0] < cap // 4 and spans[-1][1] - spans[-2][0] <= cap * 1.25:
        spans[-2:] = [(spans[-2][0], spans[-1][1])]
    return spans


def read_document(loaded: LoadedDocument, doc_id: str, sidecar: dict | None = None) -> tuple[ReportIdentity, Outline]:
    """Clean, drop front matter, reflow run-on paragraphs, read the identity, parse the outline.
    ``sidecar`` holds the fields a ``NAME.meta.yaml`` sets; they win over front matter."""
    front_matter, raw = split_front_matter(loaded.blocks, loaded.path)
    blocks = reflow([b for b in (Block(clean_paragraph(b.text), b.heading_level) for b in raw) if b.text])
    overrides = {**(front_matter or {}), **(sidecar or {})}
    identity = read_identity(blocks, Path(doc_id).stem, loaded.title, overrides)
    return identity, parse_outline(blocks, identity.review_year, identity.plan_year)


def chunk_document(loaded: LoadedDocument, doc_id: str, max_chars: int, sidecar: dict | None = None) -> ChunkedDocument:
    identity, outline = read_document(loaded, doc_id, sidecar)
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for piece in outline.pieces:
        section = outline.section(piece.section_id)
        topic = section
        while topic is not None and topic.level > 2 and topic.parent is not None:
            topic = outline.sections[topic.parent]
        piece_text = outline.text[piece.start:piece.end]
        for rel_start, rel_end in pack_sentences(piece_text, max_chars):
            # Trim the whitespace a span may carry so offsets point at exactly the shown text.
            raw = piece_text[rel_start:rel_end]
            lead = len(raw) - len(raw.lstrip())
            text = raw.strip()
            if not text:
                continue
            start = piece.start + rel_start + lead
            path = section.path_text if section else ""
            embed_text = embed_text_of(path, text)
            digest = hashlib.sha256(f"{doc_id}\x00{embed_text}".encode("utf-8")).hexdigest()[:20]
            seen[digest] = seen.get(digest, 0) + 1
            chunk_id = digest if seen[digest] == 1 else f"{digest}-{seen[digest]}"
            chunks.append(Chunk(id=chunk_id, text=text, embed_text=embed_text, meta=ChunkMeta(
                doc_id=doc_id, doc_title=identity.title, start=start, end=start + len(text), ordinal=len(chunks),
                section_id=section.id if section else -1, topic_id=topic.id if topic else -1,
                section_path=path, section_title=section.title if section else "",
                period=section.period if section else "", phase=section.phase if section else "",
                masked=has_masked_figure(text), doc_place=identity.place, doc_year=identity.year,
                doc_kind=identity.kind, doc_review_year=identity.review_year, doc_plan_year=identity.plan_year,
            )))
    return ChunkedDocument(doc_id, identity.title, outline.text, outline, chunks, identity)
