"""A chunk's vector pooled from the vectors of its sentences and section title.

Every sentence and title is embedded on its own anyway (sentence-level evidence), and together they
are the chunk's text. Embedding the chunk's text again would double what a report costs to index.
The bundled model treats a text longer than its window the same way: a length-weighted mean of the
windows' vectors. Here the windows are the sentences and the title.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from index.chunking import Chunk
from index.sentence_vectors import TITLE, SentenceRecord

# Part of every document's digest (index/pipeline.py): when the recipe changes, documents are
# written again once, their chunk vectors pooled anew from the stored sentence vectors.
RECIPE = "sentence-mean-title3"

# The title is short but places every sentence (a passage about 秸秆 sits in 生态环境), as the
# section path leading the embedded text did. Fitted on the question bank's dev split: weights 1, 2, 3
# and 6 were tried, 3 gave the best answer accuracy.
TITLE_WEIGHT = 3.0

Parts = list[tuple[str, float]]  # (text, weight)


def pooling_plan(chunks: list[Chunk], records: list[SentenceRecord]) -> dict[str, Parts]:
    """For each chunk, the texts its vector is pooled from; a chunk with neither sentence nor title
    (only fragments shorter than a sentence) is embedded whole."""
    plan: dict[str, Parts] = {chunk.id: [] for chunk in chunks}
    for record in records:
        weight = len(record.text) * (TITLE_WEIGHT if record.kind == TITLE else 1.0)
        plan[record.chunk_id].append((record.text, weight))
    for chunk in chunks:
        if not plan[chunk.id]:
            plan[chunk.id] = [(chunk.embed_text, 1.0)]
    return plan


def pooled_vector(parts: Parts, vectors: Mapping[str, list[float]]) -> list[float]:
    """The weighted mean of the parts' unit vectors, normalised again."""
    weights = np.array([weight for _, weight in parts], dtype=np.float64)
    mean = weights @ np.asarray([vectors[text] for text, _ in parts], dtype=np.float64)
    norm = float(np.linalg.norm(mean))
    return (mean / norm if norm > 0 else mean).astype(np.float32).tolist()
