"""Keyword search over Chinese word segmentation (jieba, search mode), kept in SQLite FTS5 per document.

The keyword side lives in ``<index_dir>/keywords.sqlite3`` (WAL, so every process on the machine
shares it). Rows are written by the store together with a document's chunks, under the same
generation, before the manifest switches to it; readers keep the rows of live generations only, so
the keyword side follows the manifest exactly as the vectors do (see ``index.store``). A document
the file does not hold yet (an index built before this file existed, or written by another machine
through a shared ``chroma run`` server) is read from Chroma once, that document alone.

Why not Chroma: Chroma 1.5.9 here offers no keyword side in the embedded store nor in ``chroma run``
("Sparse vector indexing is not enabled in local"; ``collection.search()`` is "not implemented for
local executor"), so the sparse ranking is SQLite's FTS5 ``bm25()`` over jieba tokens.
"""
from __future__ import annotations

import json
import logging
import marshal
import re
import sqlite3
import threading
import types
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable

from index.generations import Live, is_live_generation
from index.meta import ChunkMeta, decode_meta, embed_text_of, encode_meta
from index.sqlite_files import immediate, open_shared
from index.store import ChunkStore, StoredChunk

log = logging.getLogger(__name__)

_WORD = re.compile(r"[\w\u4e00-\u9fff]")
# Function words carry no topic; a short general list, not tuned to any question.
STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 有 为 对 将 把 被 让 从 向 以 等 也 都 又 并 而 或 之 其 这 那 此 个 各 "
    "吗 呢 吧 啊 么 什么 怎么 怎样 如何 哪些 哪个 多少 几 啥 一下 请问 请 我 我们 你 你们 他 它 "
    "情况 一些 进行 开展 方面 工作 相关 关于 具体 说说 介绍 一 二 三 要 会 能 可以 还 就 到 中 上 下 "
    "the a an of to in and or for on is are was were what how which".split())
_PAGE = 200  # ranked rows read at a time while looking for k the caller accepts
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    generation TEXT NOT NULL,
    chunk_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    section_path TEXT NOT NULL,
    meta TEXT NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (collection, doc_id, generation, chunk_id)
);
CREATE INDEX IF NOT EXISTS chunks_by_ordinal ON chunks (collection, doc_id, generation, ordinal);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5 (tokens);
"""


class Tokenizer:
    def __init__(self) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        _load_dictionary_cache_in_one_read(jieba)
        self._jieba = jieba
        self._lock = threading.Lock()
        self._ready = False

    def warm_up(self) -> None:
        with self._lock:
            if not self._ready:
                self._jieba.initialize()
                import jieba.posseg  # loads its HMM tables on first use; pay that at start-up

                jieba.posseg.lcut("预热")
                self._ready = True

    def frequency(self, word: str) -> int:
        """How often jieba's dictionary has seen the word (0: not a word it knows)."""
        self.warm_up()
        return self._jieba.dt.FREQ.get(word, 0)

    def tokens(self, text: str) -> list[str]:
        self.warm_up()
        words = self._jieba.lcut_for_search(text.lower())
        return [w for w in (w.strip() for w in words) if w and _WORD.search(w) and w not in STOPWORDS]


def _load_dictionary_cache_in_one_read(jieba_module: types.ModuleType) -> None:
    """jieba loads its prefix-dictionary cache with ``marshal.load(file)``, which reads the 9 MB file
    object by object (about 1 s at start-up); ``marshal.loads`` of the whole file takes 0.25 s. Same
    file, same objects: only the read changes."""
    jieba_module.marshal = types.SimpleNamespace(load=lambda file: marshal.loads(file.read()), dump=marshal.dump)


def quoted(token: str) -> str:
    """One FTS5 string: whatever the user typed (quotes, *, parentheses, AND/OR/NEAR) is only text."""
    return '"' + token.replace('"', '""') + '"'


class KeywordTable:
    """The FTS5 file: chunk rows per (document, generation) of one collection, and their jieba tokens.

    Knows nothing of Chroma: the caller passes the manifest it read (``live``), and only rows of
    live generations are ever returned. One connection per thread; writes take SQLite's write lock
    with ``BEGIN IMMEDIATE``, so two processes filling the same document cannot interleave.
    """

    def __init__(self, path: Path, collection: str, tokenizer: Tokenizer):
        self.path = Path(path)
        self.collection = collection
        self.tokenizer = tokenizer
        self._local = threading.local()
        with self._write() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_shared(self.path)
        return db

    def _write(self):
        return immediate(self._db())

    # --- writing ---------------------------------------------------------------
    def write(self, generation: str, ids: list[str], texts: list[str], metas: list[ChunkMeta]) -> int:
        """Rows for these chunks under ``generation`` (hidden until the manifest names it)."""
        rows = [(cid, text, meta, " ".join(self.tokenizer.tokens(embed_text_of(meta.section_path, text))))
                for cid, text, meta in zip(ids, texts, metas)]  # tokenised before the write lock is taken
        with self._write() as db:
            return self._insert(db, generation, rows)

    def fill(self, doc_id: str, generation: str, chunks: list[StoredChunk], expected: int) -> int:
        """Insert a live document read from Chroma, unless another process did while it was read."""
        rows = [(c.id, c.text, c.meta, " ".join(self.tokenizer.tokens(c.embed_text))) for c in chunks]
        with self._write() as db:
            if self._count(db, doc_id, generation) >= expected:
                return 0
            return self._insert(db, generation, rows)

    def _insert(self, db: sqlite3.Connection, generation: str, rows) -> int:
        written = 0
        for cid, text, meta, tokens in rows:
            found = db.execute("SELECT rowid FROM chunks WHERE collection=? AND doc_id=? AND generation=? "
                               "AND chunk_id=?", (self.collection, meta.doc_id, generation, cid)).fetchone()
            if found:  # an upsert again: replace the row and its tokens
                db.execute("DELETE FROM terms WHERE rowid=?", found)
                db.execute("DELETE FROM chunks WHERE rowid=?", found)
            rowid = db.execute(
                "INSERT INTO chunks (collection, doc_id, generation, chunk_id, ordinal, section_path, meta, text) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (self.collection, meta.doc_id, generation, cid, meta.ordinal, meta.section_path,
                 json.dumps(encode_meta(meta), ensure_ascii=False), text)).lastrowid
            db.execute("INSERT INTO terms (rowid, tokens) VALUES (?, ?)", (rowid, tokens))
            written += 1
        return written

    def delete_generations(self, doc_id: str, keep: str | None = None) -> int:
        """Delete the document's rows of every generation but ``keep`` (the caller holds the write lock)."""
        with self._write() as db:
            return self._delete(db, "doc_id=? AND generation IS NOT ?", (doc_id, keep))

    def purge(self, live: Live) -> int:
        """Delete rows of generations the manifest does not name (the caller holds the write lock)."""
        with self._write() as db:
            stale = [(d, g) for d, g, _ in self._held(db) if not is_live_generation(d, g, live)]
            return sum(self._delete(db, "doc_id=? AND generation=?", pair) for pair in stale)

    def _delete(self, db: sqlite3.Connection, where: str, args: tuple) -> int:
        selection = f"SELECT rowid FROM chunks WHERE collection=? AND {where}"
        db.execute(f"DELETE FROM terms WHERE rowid IN ({selection})", (self.collection, *args))
        return db.execute(f"DELETE FROM chunks WHERE rowid IN ({selection})", (self.collection, *args)).rowcount

    # --- reading ---------------------------------------------------------------
    def held(self) -> dict[tuple[str, str], int]:
        """Rows held per (document, generation)."""
        return {(d, g): n for d, g, n in self._held(self._db())}

    def _held(self, db: sqlite3.Connection) -> list[tuple[str, str, int]]:
        return db.execute("SELECT doc_id, generation, count(*) FROM chunks WHERE collection=? "
                          "GROUP BY doc_id, generation", (self.collection,)).fetchall()

    def _count(self, db: sqlite3.Connection, doc_id: str, generation: str) -> int:
        return db.execute("SELECT count(*) FROM chunks WHERE collection=? AND doc_id=? AND generation=?",
                          (self.collection, doc_id, generation)).fetchone()[0]

    def search(self, query: str, k: int, live: Live, accept: Callable[[StoredChunk], bool] = lambda c: True,
               docs: Iterable[str] | None = None) -> list[StoredChunk]:
        """The k best live chunks by BM25 over the query's tokens (any of them), best first; ``docs``
        narrows the search to those documents in SQL, ``accept`` filters what is left."""
        tokens = list(dict.fromkeys(self.tokenizer.tokens(query)))
        docs = list(docs or ())
        if not tokens or k <= 0:
            return []
        match = " OR ".join(map(quoted, tokens))
        columns = "c.collection, c.chunk_id, c.doc_id, c.generation, c.meta, c.text"
        if docs:  # a few documents: the join narrows the matches before they are ranked
            sql = (f"SELECT {columns}, bm25(terms) AS score FROM terms JOIN chunks c ON c.rowid = terms.rowid "
                   f"WHERE terms MATCH ? AND c.doc_id IN ({','.join('?' * len(docs))}) ORDER BY score LIMIT ? OFFSET ?")
            args: list = [match, *docs]
        else:  # the whole library: rank inside FTS5, then read only the page's rows
            sql = (f"SELECT {columns}, r.score FROM (SELECT rowid, bm25(terms) AS score FROM terms "
                   "WHERE terms MATCH ? ORDER BY score LIMIT ? OFFSET ?) r JOIN chunks c ON c.rowid = r.rowid "
                   "ORDER BY r.score")
            args = [match]
        hits: list[StoredChunk] = []
        db, offset = self._db(), 0
        while len(hits) < k:
            page = db.execute(sql, (*args, _PAGE, offset)).fetchall()
            for collection, chunk_id, doc_id, generation, meta, text, score in page:
                if collection != self.collection or not is_live_generation(doc_id, generation, live):
                    continue
                chunk = StoredChunk(chunk_id, text, decode_meta(json.loads(meta)), -score)  # bm25(): lower is better
                if accept(chunk):
                    hits.append(chunk)
                    if len(hits) >= k:
                        break
            if len(page) < _PAGE:
                break
            offset += _PAGE
        return hits

    def chunks_of(self, doc_id: str, live: Live) -> list[StoredChunk]:
        """The document's live chunks in report order."""
        entry = live.get(doc_id)
        if entry is None:
            return []
        rows = self._db().execute(
            "SELECT chunk_id, meta, text FROM chunks WHERE collection=? AND doc_id=? AND generation=? ORDER BY ordinal",
            (self.collection, doc_id, entry["generation"])).fetchall()
        return [StoredChunk(cid, text, decode_meta(json.loads(meta))) for cid, meta, text in rows]

    def first_chunks(self, live: Live) -> dict[str, StoredChunk]:
        """Each live document's opening chunk (it carries the report's identity)."""
        rows = self._db().execute("SELECT doc_id, generation, chunk_id, meta, text FROM chunks "
                                  "WHERE collection=? AND ordinal=0", (self.collection,)).fetchall()
        return {d: StoredChunk(cid, text, decode_meta(json.loads(meta))) for d, g, cid, meta, text in rows
                if is_live_generation(d, g, live)}

    def sections(self, live: Live) -> dict[str, list[tuple[str, int]]]:
        """Per live document, its section paths in report order with their chunk counts."""
        rows = self._db().execute(
            "SELECT doc_id, generation, section_path, count(*), min(ordinal) FROM chunks WHERE collection=? "
            "GROUP BY doc_id, generation, section_path ORDER BY doc_id, min(ordinal)", (self.collection,)).fetchall()
        found: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for doc_id, generation, path, n, _ in rows:
            if is_live_generation(doc_id, generation, live):
                found[doc_id].append((path, n))
        return dict(found)

    def document_frequency(self, forms: list[list[str]], live: Live) -> int:
        """Live rows holding all tokens of any one form (a term and its glossary variants)."""
        groups = [" AND ".join(map(quoted, dict.fromkeys(f))) for f in forms if f]
        if not groups:
            return 0
        rows = self._db().execute(
            # CROSS JOIN keeps the full-text match outside: probed row by row it costs seconds.
            "SELECT c.doc_id, c.generation, count(*) FROM terms CROSS JOIN chunks c ON c.rowid = terms.rowid "
            "WHERE terms MATCH ? AND c.collection = ? GROUP BY c.doc_id, c.generation",
            (" OR ".join(f"({g})" for g in groups), self.collection)).fetchall()
        return sum(n for d, g, n in rows if is_live_generation(d, g, live))


class KeywordIndex:
    """What the bot asks of the keyword side: ranked search, one report's chunks, term statistics.

    Each call first lets the store bring the SQLite file up to date with its manifest (cheap when
    the revision has not moved: nothing is read from Chroma), so one question sees one library.
    """

    def __init__(self, store: ChunkStore, tokenizer: Tokenizer):
        self.store = store
        self.tokenizer = tokenizer

    def refresh(self) -> None:
        self.store.keyword_view()

    def search(self, query: str, k: int, accept: Callable[[StoredChunk], bool] = lambda chunk: True,
               docs: Iterable[str] | None = None) -> list[StoredChunk]:
        table, live = self.store.keyword_view()
        return table.search(query, k, live, accept, docs)

    def chunks_of(self, doc_id: str) -> list[StoredChunk]:
        table, live = self.store.keyword_view()
        return table.chunks_of(doc_id, live)

    def revision(self) -> int:
        return self.store.revision()

    def doc_ids(self) -> list[str]:
        """The live documents."""
        return sorted(self.store.manifest())

    def size(self) -> int:
        """Live chunks: N of the term statistics."""
        return self.store.count()

    def document_frequency(self, forms: list[str]) -> int:
        """Live chunks holding any of these forms (all of a form's tokens)."""
        table, live = self.store.keyword_view()
        return table.document_frequency([self.tokenizer.tokens(f) for f in forms], live)
