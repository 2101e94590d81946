"""python -m bot.calibrate FILE.jsonl... [--write] [--keep-rerank] [--unscoped]

Fit, on the dev split of a labelled question bank only, the two things the bot weighs:
- the evidence gate: a logistic model over the gate's signals (see bot.stages.gate), answerable items
  against refuse items. The threshold is chosen by 5-fold cross-validation (out-of-fold probabilities,
  best mean F1 of answering and refusing); a coverage threshold below it separates near misses (topic present, detail
  missing) from questions the reports do not touch. Prints the precision/recall curve.
- the rerank mix (see bot.stages.retrieve.RerankWeights): a grid search for the best MRR of the
  passages holding an item's markers.
Both are then shown on the validation split. ``--write`` stores them in bot/fitted_weights.json under
the embedding model's id; with ``--keep-rerank`` only the gate (a rerank mix that wins on the bank's MRR
can still mis-rank what the bank does not ask, such as the suggested follow-ups: tests/test_suggestions.py).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.stages.gate import FITTED_PATH, SIGNALS, fitted_for

FOLDS = 5
# Regularisation strengths tried; the one whose out-of-fold probabilities decide best on the dev split
# (mean F1 at their best threshold, the criterion the threshold itself is chosen by) is used. A bank of a
# few hundred items with a few dozen refusals cannot pin eleven weights down unaided.
L2_GRID = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
STEPS = 3000
RATE = 0.5


RERANK_GRID = (0.0, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32)
RERANK_FEATURES = ("sentence", "title", "coverage")


@dataclass
class Example:
    item: dict
    signals: dict[str, float]
    candidates: list[tuple[dict[str, float], bool]]  # each retrieved passage: its features, holds a marker

    @property
    def answerable(self) -> bool:
        return self.item.get("kind") != "refuse"

    @property
    def near_miss(self) -> bool:
        return self.item.get("category") == "near-miss"

    @property
    def split(self) -> str:
        return self.item.get("split", "dev")

    def vector(self) -> list[float]:
        return [self.signals[k] for k in SIGNALS]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Weights and bias on the raw signals (fitted on standardised ones, L2-regularised)."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(STEPS):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= RATE * (z.T @ (p - y) / len(y) + l2 * w)
        b -= RATE * float(np.mean(p - y))
    return w / std, b - float((w / std) @ mean)


def predict(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w + b, -30, 30)))


def out_of_fold(x: np.ndarray, y: np.ndarray, l2: float, seed: int = 7) -> np.ndarray:
    order = list(range(len(y)))
    random.Random(seed).shuffle(order)
    probabilities = np.zeros(len(y))
    for fold in range(FOLDS):
        held = order[fold::FOLDS]
        kept = [i for i in order if i not in set(held)]
        w, b = fit_logistic(x[kept], y[kept], l2)
        probabilities[held] = predict(x[held], w, b)
    return probabilities


def best_l2(x: np.ndarray, y: np.ndarray) -> tuple[float, dict[float, float]]:
    """The regularisation strength whose out-of-fold probabilities reach the best mean F1 (ties: the
    stronger regularisation)."""
    scores = {}
    for l2 in L2_GRID:
        oof = out_of_fold(x, y, l2)
        scores[l2] = round(macro_f1(oof, y, best_threshold(oof, y)), 4)
    return max(L2_GRID, key=lambda l2: (scores[l2], l2)), scores


def balanced_accuracy(probabilities: np.ndarray, y: np.ndarray, threshold: float) -> float:
    said_yes = probabilities >= threshold
    positives, negatives = y == 1, y == 0
    recall_yes = float(np.mean(said_yes[positives])) if positives.any() else 1.0
    recall_no = float(np.mean(~said_yes[negatives])) if negatives.any() else 1.0
    return (recall_yes + recall_no) / 2


def macro_f1(probabilities: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """The mean F1 of answering and of refusing: both the refusals' precision and their recall count."""
    said_yes = probabilities >= threshold
    scores = []
    for predicted, actual in ((said_yes, y == 1), (~said_yes, y == 0)):
        tp = float(np.sum(predicted & actual))
        precision = tp / max(1.0, float(np.sum(predicted)))
        recall = tp / max(1.0, float(np.sum(actual)))
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / 2


def best_threshold(probabilities: np.ndarray, y: np.ndarray, score=macro_f1) -> float:
    candidates = [t / 100 for t in range(5, 96)]
    return max(candidates, key=lambda t: (round(score(probabilities, y, t), 4), -abs(t - 0.5)))


def curve(probabilities: np.ndarray, y: np.ndarray) -> str:
    """Refusal precision and recall, and answer recall, at each threshold."""
    rows = [f"{'threshold':>9} {'refusal P':>10} {'refusal R':>10} {'answer R':>9}"]
    for t in [i / 20 for i in range(1, 20)]:
        refused = probabilities < t
        precision = float(np.mean(y[refused] == 0)) if refused.any() else 1.0
        recall = float(np.mean(refused[y == 0])) if (y == 0).any() else 1.0
        answered = float(np.mean(~refused[y == 1])) if (y == 1).any() else 1.0
        rows.append(f"{t:>9.2f} {precision:>10.3f} {recall:>10.3f} {answered:>9.3f}")
    return "\n".join(rows)


def collect(bot, items: list[dict], scoped: bool) -> list[Example]:
    from bot.eval import item_docs

    examples = []
    for item in items:
        if item.get("history") is None and _is_english(item["q"]):
            continue  # English questions: their Chinese words are a dictionary's, not a person's
        turn = bot.prepare(item["q"], item.get("history"), item_docs(item) if scoped else None)
        markers = item.get("markers") or []
        candidates = [({"fused": h.score, "sentence": h.sentence, "title": h.title, "coverage": h.coverage},
                       any(m in h.chunk.text for m in markers)) for h in turn.found.hits]
        if turn.gate.signals:
            examples.append(Example(item, turn.gate.signals, candidates))
    return examples


def mean_reciprocal_rank(examples: list[Example], weights: dict[str, float]) -> float:
    ranked = [e for e in examples if any(relevant for _, relevant in e.candidates)]
    total = 0.0
    for example in ranked:
        order = sorted(example.candidates, key=lambda c: -sum(weights[k] * c[0][k] for k in weights))
        total += next(1.0 / (i + 1) for i, (_, relevant) in enumerate(order) if relevant)
    return total / len(ranked) if ranked else 0.0


def fit_rerank(examples: list[Example]) -> tuple[dict[str, float], str]:
    dev = [e for e in examples if e.split == "dev"]
    grid = [dict(zip(RERANK_FEATURES, values)) for values in
            ((a, b, c) for a in RERANK_GRID for b in RERANK_GRID for c in RERANK_GRID)]
    best = max(grid, key=lambda w: (round(mean_reciprocal_rank(dev, {"fused": 1.0, **w}), 4), -sum(w.values())))
    weights = {"fused": 1.0, **best}
    validation = [e for e in examples if e.split == "validation"]
    fused_only = {"fused": 1.0, "sentence": 0.0, "title": 0.0, "coverage": 0.0}
    lines = [f"rerank {weights}",
             f"MRR of marked passages among the candidates: dev {mean_reciprocal_rank(dev, weights):.3f} "
             f"(fusion alone {mean_reciprocal_rank(dev, fused_only):.3f})"]
    if validation:
        lines.append(f"validation {mean_reciprocal_rank(validation, weights):.3f} "
                     f"(fusion alone {mean_reciprocal_rank(validation, fused_only):.3f})")
    return weights, "\n".join(lines)


def _is_english(question: str) -> bool:
    from bot.query import is_english

    return is_english(question)


def calibrate(examples: list[Example]) -> tuple[dict, str]:
    """The fitted model (as stored) and a report."""
    dev = [e for e in examples if e.split == "dev"]
    x = np.array([e.vector() for e in dev])
    y = np.array([1.0 if e.answerable else 0.0 for e in dev])
    l2, scores = best_l2(x, y)
    oof = out_of_fold(x, y, l2)
    threshold = best_threshold(oof, y)
    refuse = [e for e in dev if not e.answerable]
    near = np.array([1.0 if e.near_miss else 0.0 for e in refuse])
    coverage = np.array([e.signals["coverage"] for e in refuse])
    partial = best_threshold(coverage, near, balanced_accuracy) if 0 < near.sum() < len(near) else 1.0
    w, b = fit_logistic(x, y, l2)
    model = {"weights": {k: round(float(v), 4) for k, v in zip(SIGNALS, w)}, "bias": round(b, 4),
             "threshold": threshold, "partial_coverage": partial, "l2": l2, "fitted_on": f"{len(dev)} dev items"}
    lines = [f"dev items: {len(dev)} ({int(y.sum())} answerable, {len(y) - int(y.sum())} refuse)",
             "out-of-fold mean F1 by L2 strength: " + ", ".join(f"{k}: {v:.3f}" for k, v in scores.items())
             + f" -> {l2}",
             "out-of-fold precision/recall curve (dev):", curve(oof, y),
             f"chosen threshold {threshold:.2f} (mean F1 {macro_f1(oof, y, threshold):.3f}, "
             f"balanced accuracy {balanced_accuracy(oof, y, threshold):.3f}), "
             f"partial evidence from coverage {partial:.2f} (near misses against questions the reports do not touch)"]
    validation = [e for e in examples if e.split == "validation"]
    if validation:
        xv = np.array([e.vector() for e in validation])
        yv = np.array([1.0 if e.answerable else 0.0 for e in validation])
        pv = predict(xv, w, b)
        lines += [f"validation items: {len(validation)}", curve(pv, yv),
                  f"validation at {threshold:.2f}: mean F1 {macro_f1(pv, yv, threshold):.3f}, "
                  f"balanced accuracy {balanced_accuracy(pv, yv, threshold):.3f}"]
    return model, "\n".join(lines)


def write_model(gate: dict, rerank: dict, embedding_model: str, path: Path = FITTED_PATH) -> None:
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["by_embedding_model"][embedding_model] = {"gate": gate, "rerank": rerank}
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--write", action="store_true", help="store what was fitted in bot/fitted_weights.json")
    parser.add_argument("--keep-rerank", action="store_true",
                        help="with --write: store the gate only; the rerank mix stays as stored (the gate is "
                             "fitted on the rankings it makes)")
    parser.add_argument("--unscoped", action="store_true", help="ask every item of the whole library")
    args = parser.parse_args(argv)

    from bot.chain import build_bot
    from bot.eval import load_items
    from bot.settings import Settings

    bot = build_bot(Settings())
    items = [item for f in args.files for item in load_items(f)]
    examples = collect(bot, items, not args.unscoped)
    model, report = calibrate(examples)
    rerank, rerank_report = fit_rerank(examples)
    print(report)
    print(rerank_report)
    print(json.dumps({"gate": model, "rerank": rerank}, ensure_ascii=False))
    if args.write:
        if args.keep_rerank:
            rerank = fitted_for(bot.components.embeddings.model_id)["rerank"]
        write_model(model, rerank, bot.components.embeddings.model_id)
        print(f"written to {FITTED_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
