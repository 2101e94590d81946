"""Build the index's parts from settings in one place, so callers and tests can pass them around."""
from __future__ import annotations

from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from index.embeddings import make_embeddings
from index.keyword import KeywordIndex, Tokenizer
from index.loaders import LoadLimits
from index.pipeline import Indexer
from index.settings import IndexSettings
from index.store import ChunkStore, open_client


@dataclass
class IndexComponents:
    settings: IndexSettings
    embeddings: Embeddings
    store: ChunkStore
    indexer: Indexer
    keywords: KeywordIndex


def open_index(settings: IndexSettings, embeddings: Embeddings | None = None, client=None) -> IndexComponents:
    embeddings = embeddings or make_embeddings(settings)
    store = ChunkStore(client or open_client(settings), settings.collection, embeddings.model_id)
    indexer = Indexer(store, embeddings, settings.index_dir, settings.chunk_max_chars,
                      int(settings.max_file_mb * 1024 * 1024), settings.embedding_batch_size,
                      LoadLimits.from_settings(settings))
    return IndexComponents(settings, embeddings, store, indexer, KeywordIndex(store, Tokenizer()))
