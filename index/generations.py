"""Generations: each document is written under a fresh one, and the manifest names the live one.

Chunks, sentence vectors and keyword rows all carry their generation; a record is visible only
while the manifest (doc_id → {"generation": …, …}) names its document's generation.
"""
from __future__ import annotations

import secrets

Live = dict[str, dict]  # the manifest: doc_id -> {"generation": ..., "hash": ..., ...}

# Chunks written before manifests existed carry no generation; adopted entries point at this one.
LEGACY_GENERATION = ""


def new_generation() -> str:
    return secrets.token_hex(6)


def generation_of(metadata: dict) -> str:
    return metadata.get("generation", LEGACY_GENERATION)


def is_live_generation(doc_id: str | None, generation: str, live: Live) -> bool:
    entry = live.get(doc_id)
    return entry is not None and entry["generation"] == generation


def is_live(metadata: dict, live: Live) -> bool:
    """Is this record (Chroma metadata with doc_id and generation) one of a live generation?"""
    return is_live_generation(metadata.get("doc_id"), generation_of(metadata), live)


def not_live_filter(live: Live) -> dict | None:
    """A Chroma filter for records whose generation is not a live one (None: every record)."""
    generations = sorted({entry["generation"] for entry in live.values()})
    return {"generation": {"$nin": generations}} if generations else None
