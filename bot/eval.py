"""python -m bot.eval FILE.jsonl [--k 3] [--json] [--calibrate]

Metrics (see the eval README): retrieval hit@1, hit@k and MRR over items with markers; answer accuracy
over non-refuse items; refusal precision and recall; masked honesty. Failing items are listed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.query import is_english

REFUSAL = re.compile(r"没有找到|未找到|未提及|没有提及|无法回答|不包含|未涉及|没有相关|无相关|未包含|没有涉及|找不到|没有提到|未提到")


@dataclass
class ItemResult:
    item: dict
    answer: str
    refused: bool
    rank: int | None  # 1-based rank of the first source containing a marker
    correct: bool | None  # None for refuse items
    evidence: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.item.get("kind") or "plain"


def load_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_refusal(answer) -> bool:
    return bool(answer.refused or REFUSAL.search(answer.answer.split("\n", 1)[0]))


def judge(item: dict, answer, evidence: float = 0.0) -> ItemResult:
    refused = is_refusal(answer)
    rank = None
    if item.get("markers"):
        for i, source in enumerate(answer.sources):
            if any(m in source.text for m in item["markers"]):
                rank = i + 1
                break
    problems: list[str] = []
    correct = None
    if item.get("kind") != "refuse":
        satisfied = sum(1 for group in item.get("groups", []) if any(g in answer.answer for g in group))
        if satisfied < item.get("min", 0):
            problems.append(f"{satisfied}/{item.get('min', 0)} groups")
        for pattern in item.get("not_re", []):
            if re.search(pattern, answer.answer):
                problems.append(f"matches not_re {pattern}")
        for text in item.get("not_in", []):
            if text in answer.answer:
                problems.append(f"contains {text!r}")
        if refused:
            problems.append("refused")
        correct = not problems
    elif not refused:
        problems.append("answered instead of refusing")
    return ItemResult(item, answer.answer, refused, rank, correct, evidence, problems)


def metrics(results: list[ItemResult], k: int) -> dict:
    ranked = [r for r in results if r.item.get("markers")]
    answerable = [r for r in results if r.correct is not None]
    refuse_items = [r for r in results if r.kind == "refuse"]
    refused = [r for r in results if r.refused]
    masked = [r for r in results if r.kind == "masked"]

    def share(values):
        return sum(values) / len(values) if values else None

    return {
        "n": len(results),
        "hit@1": share([r.rank == 1 for r in ranked]),
        f"hit@{k}": share([r.rank is not None and r.rank <= k for r in ranked]),
        "mrr": share([1.0 / r.rank if r.rank else 0.0 for r in ranked]),
        "accuracy": share([r.correct for r in answerable]),
        "refusal_precision": share([r.kind == "refuse" for r in refused]),
        "refusal_recall": share([r.refused for r in refuse_items]),
        "masked_honesty": share([r.correct for r in masked]),
    }


def evaluate(bot, items: list[dict], k: int = 3,
             with_evidence: bool = False) -> tuple[dict, dict[str, dict], list[ItemResult]]:
    """Answer every item; ``with_evidence`` also records the refusal gate's evidence (for --calibrate)."""
    results = []
    for item in items:
        evidence = bot.prepare(item["q"], item.get("history")).evidence if with_evidence else 0.0
        answer = bot.ask(item["q"], item.get("history"))
        results.append(judge(item, answer, evidence))
    by_kind: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r)
    return metrics(results, k), {kind: metrics(rs, k) for kind, rs in sorted(by_kind.items())}, results


def calibrate(results: list[ItemResult]) -> str:
    """The evidence threshold halfway across the widest gap between refuse and answerable items."""
    refuse = sorted(r.evidence for r in results if r.kind == "refuse" and not is_english(r.item["q"]))
    other = sorted(r.evidence for r in results if r.kind != "refuse" and not is_english(r.item["q"]))
    if not refuse or not other:
        return "calibration needs both refuse and answerable items"
    lines = [f"refuse evidence:     {' '.join(f'{v:.2f}' for v in refuse)}",
             f"answerable evidence: {' '.join(f'{v:.2f}' for v in other)}"]
    if max(refuse) < min(other):
        lines.append(f"separable: suggested QA_REFUSE_EVIDENCE_MIN={(max(refuse) + min(other)) / 2:.2f}")
    else:
        lines.append(f"overlap between {min(other):.2f} and {max(refuse):.2f}")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "   -  " if value is None else f"{value:6.3f}"


def format_table(overall: dict, by_kind: dict[str, dict], k: int) -> str:
    columns = ["n", "hit@1", f"hit@{k}", "mrr", "accuracy", "refusal_precision", "refusal_recall", "masked_honesty"]
    header = f"{'kind':<10}" + "".join(f"{c:>18}" for c in columns)
    rows = [header, "-" * len(header)]
    for name, m in list(by_kind.items()) + [("overall", overall)]:
        rows.append(f"{name:<10}" + "".join(f"{m[c]:>18}" if c == "n" else f"{_fmt(m[c]):>18}" for c in columns))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--calibrate", action="store_true", help="print the refusal gate's evidence split")
    args = parser.parse_args(argv)

    from bot.chain import build_bot
    from bot.settings import Settings

    bot = build_bot(Settings())
    overall, by_kind, results = evaluate(bot, load_items(args.file), args.k, with_evidence=args.calibrate)
    failures = [r for r in results if r.problems or (r.item.get("markers") and (r.rank is None or r.rank > args.k))]
    if args.json:
        print(json.dumps({"overall": overall, "by_kind": by_kind, "failures": [
            {"id": r.item.get("id"), "q": r.item["q"], "rank": r.rank, "problems": r.problems, "answer": r.answer}
            for r in failures]}, ensure_ascii=False, indent=2))
    else:
        print(format_table(overall, by_kind, args.k))
        print(f"\nfailing items ({len(failures)}):")
        for r in failures:
            print(f"- {r.item.get('id')} [{r.kind}] rank={r.rank} {'; '.join(r.problems)}\n  Q: {r.item['q']}\n"
                  f"  A: {r.answer[:160].replace(chr(10), ' / ')}")
    if args.calibrate:
        print("\n" + calibrate(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
