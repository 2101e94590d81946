"""The refusal gate: does the retrieved text cover the question? A pure decision, made before any LLM call."""
from __future__ import annotations

from dataclasses import dataclass

from bot.evidence import TermWeights
from bot.query import QuestionInfo
from bot.settings import Settings
from bot.stages.retrieve import Retrieved

GATE_PASSAGES = 3  # the top passages whose words are checked


@dataclass(frozen=True)
class Evidence:
    # The weighted share of the question's words in the top passages; for English questions, which
    # share no words with the report, how far the best passage's similarity stands above the rest.
    value: float
    passes: bool


class EvidenceGate:
    def __init__(self, weights: TermWeights, settings: Settings):
        self.weights = weights
        self.settings = settings

    def judge(self, info: QuestionInfo, found: Retrieved) -> Evidence:
        if not found.hits:
            return Evidence(0.0, False)
        if info.english:
            # Absolute similarities of an out-of-scope question are as high as those of a good one;
            # what differs is the margin of the best passage.
            dense = found.nearest
            margin = dense[0] - sum(dense[1:]) / max(1, len(dense) - 1) if dense else 0.0
            return Evidence(margin, margin >= self.settings.refuse_dense_gap)
        top_text = "\n".join(h.chunk.embed_text for h in found.hits[:GATE_PASSAGES])
        share = self.weights.coverage(info, top_text)
        return Evidence(share, share >= self.settings.refuse_evidence_min)
