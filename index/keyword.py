"""Keyword search over Chinese word segmentation (jieba, search mode) with BM25, derived from the store.

The keyword index is never written on its own: it is rebuilt from the store's live chunks whenever the
store's revision changes, so a removed document leaves dense and keyword search together.
"""
from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter, defaultdict

from index.store import ChunkStore, StoredChunk

_WORD = re.compile(r"[\w\u4e00-\u9fff]")
# Function words carry no topic; a short general list, not tuned to any question.
STOPWORDS = frozenset(
    "的 了 和 与 及 是 在 有 为 对 将 把 被 让 从 向 以 等 也 都 又 并 而 或 之 其 这 那 此 个 各 "
    "吗 呢 吧 啊 么 什么 怎么 怎样 如何 哪些 哪个 多少 几 啥 一下 请问 请 我 我们 你 你们 他 它 "
    "情况 一些 进行 开展 方面 工作 相关 关于 具体 说说 介绍 一 二 三 要 会 能 可以 还 就 到 中 上 下 "
    "the a an of to in and or for on is are was were what how which".split())


class Tokenizer:
    def __init__(self) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
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

    def tokens(self, text: str) -> list[str]:
        self.warm_up()
        words = self._jieba.lcut_for_search(text.lower())
        return [w for w in (w.strip() for w in words) if w and _WORD.search(w) and w not in STOPWORDS]


class BM25:
    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.lengths = [len(d) for d in documents]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if documents else 0.0
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for doc_index, tokens in enumerate(documents):
            for term, freq in Counter(tokens).items():
                self.postings[term].append((doc_index, freq))
        n = len(documents)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def scores(self, query_tokens: list[str]) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(query_tokens):
            for doc_index, freq in self.postings.get(term, ()):
                norm = freq + self.k1 * (1 - self.b + self.b * self.lengths[doc_index] / (self.avg_length or 1))
                scores[doc_index] += self.idf[term] * freq * (self.k1 + 1) / norm
        return scores


class KeywordIndex:
    """BM25 over the store's chunks (section path + text).

    ``search`` first asks the store for its revision and rebuilds when the store changed, so a removed
    document is gone from keyword search as soon as it is gone from Chroma. ``chunks`` reads the
    snapshot the last search used, so one question sees one consistent corpus.
    """

    def __init__(self, store: ChunkStore, tokenizer: Tokenizer):
        self.store = store
        self.tokenizer = tokenizer
        self._state: int | None = None
        self._chunks: list[StoredChunk] = []
        self._bm25 = BM25([])
        self._lock = threading.Lock()

    def refresh(self) -> None:
        state = self.store.revision()  # moves with every manifest change
        if state == self._state:
            return
        with self._lock:
            chunks = self.store.all_chunks()
            self._bm25 = BM25([self.tokenizer.tokens(c.embed_text) for c in chunks])
            self._chunks = chunks
            self._state = state

    @property
    def chunks(self) -> list[StoredChunk]:
        if self._state is None:
            self.refresh()
        return self._chunks

    def search(self, query: str, k: int, accept=lambda chunk: True) -> list[StoredChunk]:
        self.refresh()
        scores = self._bm25.scores(self.tokenizer.tokens(query))
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        hits: list[StoredChunk] = []
        for doc_index, score in ranked:
            chunk = self._chunks[doc_index]
            if accept(chunk):
                hits.append(StoredChunk(chunk.id, chunk.text, chunk.meta, score))
                if len(hits) >= k:
                    break
        return hits
