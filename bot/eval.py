"""python -m bot.eval FILE.jsonl [FILE.jsonl ...] [--split dev|validation|all] [--unscoped] [--k 3] [--json] [--calibrate]

Metrics (see the eval README): retrieval hit@1, hit@k and MRR over items with markers; answer accuracy
over non-refuse items; refusal precision and recall; masked honesty. They are printed overall, per report
and per category, each with its dev and validation rows next to each other. Failing items are listed.

Each item is asked of the whole library with its report chosen, as a user picks it in the chat (items
whose point is to name the report themselves, place- or year-scoped ones and those spanning several
reports, choose nothing). ``--unscoped`` chooses nothing for any item. ``--calibrate`` prints the
evidence gate's precision/recall curve (fit it with ``python -m bot.calibrate``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


SPLITS = ("dev", "validation")
DEFAULT_REPORT = "district-report-2022-h1"  # the eval README: an item without ``doc`` is about this report
ACROSS = "across"  # the report label of items that fit several reports (``docs``)
# Categories of question files that predate ``category``, read from their ``kind``
CATEGORY_OF_KIND = {"paraphrase": "paraphrase", "masked": "masked", "multiturn": "followup",
                    "refuse": "refuse", "variant": "variant"}

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


def report_of(item: dict) -> str:
    """The report an item is about, as a file stem; ``across`` for items that fit several reports."""
    if item.get("docs"):
        return ACROSS
    return Path(item.get("doc") or DEFAULT_REPORT).stem


def item_docs(item: dict) -> list[str] | None:
    """The report an item is asked about, as the user would choose it; None for questions whose point is
    to name the report themselves (place- or year-scoped) or to span several."""
    if item.get("docs") or category_of(item) in ("scoped", "across"):
        return None
    return [Path(item.get("doc") or DEFAULT_REPORT + ".txt").name]


def category_of(item: dict) -> str:
    return item.get("category") or CATEGORY_OF_KIND.get(item.get("kind") or "", "plain")


def split_of(item: dict) -> str:
    """Items without a split are dev items: only a bank's own validation split is held out."""
    return item.get("split") or "dev"


def select_split(items: list[dict], split: str) -> list[dict]:
    return items if split == "all" else [item for item in items if split_of(item) == split]


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


def evaluate(bot, items: list[dict], k: int = 3, with_evidence: bool = False,
             scoped: bool = True) -> tuple[dict, dict[str, dict], list[ItemResult]]:
    """Answer every item; ``with_evidence`` also records the refusal gate's evidence."""
    results = []
    for item in items:
        docs = item_docs(item) if scoped else None
        evidence = bot.prepare(item["q"], item.get("history"), docs).evidence if with_evidence else 0.0
        answer = bot.ask(item["q"], item.get("history"), docs)
        results.append(judge(item, answer, evidence))
    by_kind: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        by_kind[r.kind].append(r)
    return metrics(results, k), {kind: metrics(rs, k) for kind, rs in sorted(by_kind.items())}, results


def breakdown(results: list[ItemResult], group_of, splits: tuple[str, ...], k: int) -> dict[str, dict[str, dict]]:
    """Metrics per group (``group_of(item)``) and split: {group: {split: metrics}}; every split in
    ``splits`` gets its row, empty or not, so that dev and validation always line up."""
    grouped: dict[str, dict[str, list[ItemResult]]] = defaultdict(lambda: {split: [] for split in splits})
    for r in results:
        split = split_of(r.item)
        if split in splits:
            grouped[group_of(r.item)][split].append(r)
    return {group: {split: metrics(rs, k) for split, rs in by_split.items()}
            for group, by_split in sorted(grouped.items())}


def breakdowns(results: list[ItemResult], splits: tuple[str, ...], k: int) -> dict[str, dict[str, dict[str, dict]]]:
    return {"by_report": breakdown(results, report_of, splits, k),
            "by_category": breakdown(results, category_of, splits, k),
            "overall": breakdown(results, lambda _item: "overall", splits, k)}


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_breakdown(title: str, table: dict[str, dict[str, dict]], k: int) -> str:
    """One block: a row per group and split, the splits of a group on consecutive rows."""
    columns = ["n", "hit@1", f"hit@{k}", "mrr", "accuracy", "refusal_precision", "refusal_recall", "masked_honesty"]
    label_width = max([len(title)] + [len(group) for group in table]) + 2
    widths = [max(len(c), 6) + 2 for c in columns]
    header = f"{title:<{label_width}}{'split':<12}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths))
    rows = [header, "-" * len(header)]
    for group, by_split in table.items():
        for i, (split, m) in enumerate(by_split.items()):
            cells = "".join(f"{m[c] if c == 'n' else _fmt(m[c]):>{w}}" for c, w in zip(columns, widths))
            rows.append(f"{group if i == 0 else '':<{label_width}}{split:<12}{cells}")
    return "\n".join(rows)


def format_breakdowns(tables: dict[str, dict[str, dict[str, dict]]], k: int) -> str:
    titles = {"by_report": "report", "by_category": "category", "overall": "all items"}
    return "\n\n".join(format_breakdown(titles[name], table, k) for name, table in tables.items())


def is_failure(r: ItemResult, k: int) -> bool:
    return bool(r.problems) or bool(r.item.get("markers") and (r.rank is None or r.rank > k))


def failure_record(r: ItemResult) -> dict:
    return {"id": r.item.get("id"), "report": report_of(r.item), "category": category_of(r.item),
            "split": split_of(r.item), "q": r.item["q"], "rank": r.rank, "problems": r.problems, "answer": r.answer}


def format_failures(failures: list[ItemResult]) -> str:
    lines = [f"failing items ({len(failures)}):"]
    for r in failures:
        lines.append(f"- {r.item.get('id')} [{report_of(r.item)} / {category_of(r.item)} / {split_of(r.item)}] "
                     f"rank={r.rank} {'; '.join(r.problems)}\n  Q: {r.item['q']}\n"
                     f"  A: {r.answer[:160].replace(chr(10), ' / ')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval", description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all",
                        help="the items to run (items without a split are dev items); default: all")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--unscoped", action="store_true", help="choose no report for any item")
    parser.add_argument("--calibrate", action="store_true",
                        help="print the evidence gate's precision/recall curve (out-of-fold, dev split)")
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        parser.error(f"no such question file: {', '.join(missing)}")
    items = select_split([item for path in args.files for item in load_items(path)], args.split)
    if not items:
        parser.error(f"no {args.split} items in {', '.join(map(str, args.files))}")
    splits = SPLITS if args.split == "all" else (args.split,)

    from bot.chain import build_bot
    from bot.settings import Settings

    bot = build_bot(Settings())
    _overall, _by_kind, results = evaluate(bot, items, args.k, scoped=not args.unscoped)
    tables = breakdowns(results, splits, args.k)
    failures = [r for r in results if is_failure(r, args.k)]
    if args.json:
        print(json.dumps({"splits": list(splits), **tables, "failures": [failure_record(r) for r in failures]},
                         ensure_ascii=False, indent=2))
    else:
        print(format_breakdowns(tables, args.k))
        print("\n" + format_failures(failures))
    if args.calibrate:
        from bot.calibrate import calibrate, collect

        print("\n" + calibrate(collect(bot, items, not args.unscoped))[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
