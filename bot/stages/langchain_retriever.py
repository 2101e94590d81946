"""The hybrid search as a LangChain retriever, for chains that want ``Document`` objects.

Its own module because ``langchain_core.retrievers`` costs about half a second to import (it pulls in
LangSmith's tracing models), which the chat and the API, answering through ``bot.chain``, never need."""
from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from bot.stages.retrieve import HybridSearch
from bot.stages.scope import Scope
from index.meta import encode_meta


class HybridRetriever(BaseRetriever):
    """The hybrid search as a LangChain retriever (for chains that want ``Document`` objects)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    search: HybridSearch
    k: int = 5
    phase: str = ""

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [Document(page_content=h.chunk.text, id=h.chunk.id,
                         metadata={**encode_meta(h.chunk.meta), "score": h.score, "dense": h.dense,
                                   "keyword": h.keyword})
                for h in self.search.search(query, Scope(phase=self.phase), self.k)]
