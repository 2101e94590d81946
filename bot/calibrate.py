"""python -m bot.calibrate FILE.jsonl... [--write] [--unscoped]

Fit the evidence gate on a labelled question bank: a logistic model over the gate's signals (see
bot.stages.gate), answerable items against refuse items, on the dev split only. The threshold is
chosen by 5-fold cross-validation (out-of-fold probabilities, best balanced accuracy); the lower
"partial" threshold separates near misses (topic present, detail missing) from questions the reports
do not touch. Prints the precision/recall curve, and the validation split's figures with the fitted
model. ``--write`` stores the model in bot/gate_model.json under the embedding model's id.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.stages.gate import MODEL_PATH, SIGNALS

FOLDS = 5
L2 = 0.05
STEPS = 3000
RATE = 0.5


@dataclass
class Example:
    item: dict
    signals: dict[str, float]

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


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights and bias on the raw signals (fitted on standardised ones, L2-regularised)."""
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    w, b = np.zeros(z.shape[1]), 0.0
    for _ in range(STEPS):
        p = 1.0 / (1.0 + np.exp(-(z @ w + b)))
        w -= RATE * (z.T @ (p - y) / len(y) + L2 * w)
        b -= RATE * float(np.mean(p - y))
    return w / std, b - float((w / std) @ mean)


def predict(x: np.ndarray, w: np.ndarray, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x @ w + b, -30, 30)))


def out_of_fold(x: np.ndarray, y: np.ndarray, seed: int = 7) -> np.ndarray:
    order = list(range(len(y)))
    random.Random(seed).shuffle(order)
    probabilities = np.zeros(len(y))
    for fold in range(FOLDS):
        held = order[fold::FOLDS]
        kept = [i for i in order if i not in set(held)]
        w, b = fit_logistic(x[kept], y[kept])
        probabilities[held] = predict(x[held], w, b)
    return probabilities


def balanced_accuracy(probabilities: np.ndarray, y: np.ndarray, threshold: float) -> float:
    said_yes = probabilities >= threshold
    positives, negatives = y == 1, y == 0
    recall_yes = float(np.mean(said_yes[positives])) if positives.any() else 1.0
    recall_no = float(np.mean(~said_yes[negatives])) if negatives.any() else 1.0
    return (recall_yes + recall_no) / 2


def best_threshold(probabilities: np.ndarray, y: np.ndarray) -> float:
    candidates = [t / 100 for t in range(5, 96)]
    return max(candidates, key=lambda t: (round(balanced_accuracy(probabilities, y, t), 4), -abs(t - 0.5)))


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


DEFAULT_DOC = "district-report-2022-h1.txt"  # the question files' convention for items without "doc"


def item_docs(item: dict) -> list[str] | None:
    """The report an item is asked about, as the user would pick it; None for questions whose point is
    to name the report themselves (place- or year-scoped) or to span several."""
    if item.get("docs") or item.get("category") in ("scoped", "across"):
        return None
    return [Path(item.get("doc") or DEFAULT_DOC).name]


def collect(bot, items: list[dict], scoped: bool) -> list[Example]:
    examples = []
    for item in items:
        if item.get("history") is None and _is_english(item["q"]):
            continue  # English questions have their own margin rule
        turn = bot.prepare(item["q"], item.get("history"), item_docs(item) if scoped else None)
        if turn.gate.signals:
            examples.append(Example(item, turn.gate.signals))
    return examples


def _is_english(question: str) -> bool:
    from bot.query import is_english

    return is_english(question)


def calibrate(examples: list[Example]) -> tuple[dict, str]:
    """The fitted model (as stored) and a report."""
    dev = [e for e in examples if e.split == "dev"]
    x = np.array([e.vector() for e in dev])
    y = np.array([1.0 if e.answerable else 0.0 for e in dev])
    oof = out_of_fold(x, y)
    threshold = best_threshold(oof, y)
    refuse = [i for i, e in enumerate(dev) if not e.answerable]
    near = np.array([1.0 if dev[i].near_miss else 0.0 for i in refuse])
    partial = best_threshold(oof[refuse], near) if 0 < near.sum() < len(near) else threshold
    partial = min(partial, threshold)
    w, b = fit_logistic(x, y)
    model = {"weights": {k: round(float(v), 4) for k, v in zip(SIGNALS, w)}, "bias": round(b, 4),
             "threshold": threshold, "partial": partial, "fitted_on": f"{len(dev)} dev items"}
    lines = [f"dev items: {len(dev)} ({int(y.sum())} answerable, {len(y) - int(y.sum())} refuse)",
             "out-of-fold precision/recall curve (dev):", curve(oof, y),
             f"chosen threshold {threshold:.2f} (balanced accuracy {balanced_accuracy(oof, y, threshold):.3f}), "
             f"partial {partial:.2f}"]
    validation = [e for e in examples if e.split == "validation"]
    if validation:
        xv = np.array([e.vector() for e in validation])
        yv = np.array([1.0 if e.answerable else 0.0 for e in validation])
        pv = predict(xv, w, b)
        lines += [f"validation items: {len(validation)}", curve(pv, yv),
                  f"validation balanced accuracy at {threshold:.2f}: {balanced_accuracy(pv, yv, threshold):.3f}"]
    return model, "\n".join(lines)


def write_model(model: dict, embedding_model: str, path: Path = MODEL_PATH) -> None:
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["by_embedding_model"][embedding_model] = model
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--write", action="store_true", help="store the fitted model in bot/gate_model.json")
    parser.add_argument("--unscoped", action="store_true", help="ask every item of the whole library")
    args = parser.parse_args(argv)

    from bot.chain import build_bot
    from bot.eval import load_items
    from bot.settings import Settings

    bot = build_bot(Settings())
    items = [item for f in args.files for item in load_items(f)]
    model, report = calibrate(collect(bot, items, not args.unscoped))
    print(report)
    print(json.dumps(model, ensure_ascii=False))
    if args.write:
        write_model(model, bot.components.embeddings.model_id)
        print(f"written to {MODEL_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
