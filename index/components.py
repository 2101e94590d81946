"""Build the index's parts from settings in one place, so callers and tests can pass them around."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from index.embedding_cache import CachedEmbeddings, EmbeddingCache
from index.embeddings import indexing_embeddings, make_embeddings
from index.keyword import KeywordIndex, KeywordTable, Tokenizer
from index.loaders import LoadLimits
from index.pipeline import BuildReport, Indexer, ProgressFn
from index.settings import IndexSettings
from index.store import (ChunkStore, IndexBusyError, clear_staging, corruption_reported, move_store_aside,
                         open_client, write_lock)

log = logging.getLogger(__name__)


@dataclass
class IndexComponents:
    settings: IndexSettings
    embeddings: Embeddings
    store: ChunkStore
    indexer: Indexer
    keywords: KeywordIndex


def open_index(settings: IndexSettings, embeddings: Embeddings | None = None, client=None) -> IndexComponents:
    """Open the store (``IndexCorruptError`` when its files are damaged) and tidy what a crash left."""
    embeddings = embeddings or make_embeddings(settings)
    tokenizer = Tokenizer()
    keywords = KeywordTable(keywords_path(settings), settings.collection, tokenizer)
    with corruption_reported(settings):
        store = ChunkStore(client or open_client(settings), settings.collection, embeddings.model_id, keywords)
        store.stored_count()  # reads the vector index, so damage shows here rather than at the first question
        recover(store, settings.index_dir)
    indexer = Indexer(store, passage_embeddings(settings, embeddings), settings.index_dir, settings.chunk_max_chars,
                      int(settings.max_file_mb * 1024 * 1024), settings.embedding_batch_size,
                      LoadLimits.from_settings(settings))
    return IndexComponents(settings, embeddings, store, indexer, KeywordIndex(store, tokenizer))


def keywords_path(settings: IndexSettings) -> Path:
    """The keyword index beside the store; with a Chroma server too, so each machine keeps its own."""
    return settings.index_dir / "keywords.sqlite3"


def passage_embeddings(settings: IndexSettings, embeddings: Embeddings) -> Embeddings:
    """What the indexer embeds passages with: worker processes for the bundled model, through the cache
    beside the index unless it is switched off."""
    embeddings = indexing_embeddings(settings, embeddings)
    if not settings.embedding_cache:
        return embeddings
    path = settings.embedding_cache_path or settings.index_dir / "embeddings.sqlite3"
    return CachedEmbeddings(embeddings, EmbeddingCache(path, embeddings.model_id))


def recover(store: ChunkStore, index_dir: Path) -> None:
    """Roll back half-written documents and empty staging, unless another writer is at work right now."""
    try:
        with write_lock(index_dir):
            store.roll_back()
            clear_staging(index_dir)
    except IndexBusyError:
        log.info("another process is writing to %s; leaving its work alone", index_dir)


def rebuild_index(settings: IndexSettings, embeddings: Embeddings | None = None,
                  progress: ProgressFn | None = None) -> tuple[Path | None, IndexComponents, BuildReport]:
    """Move the embedded store aside (never deleted) and build a new one from the data folder."""
    if settings.chroma_host:
        raise ValueError("rebuild works on the embedded store only; with a Chroma server, "
                         "set QA_COLLECTION to a new name and run python -m index build")
    with write_lock(settings.index_dir):
        moved = move_store_aside(settings)
    components = open_index(settings, embeddings)
    report = components.indexer.build([settings.data_dir], prune=True, progress=progress)
    return moved, components, report
