"""The library scale benchmark's results as a markdown table with growth ratios, JSON and a plot.

A result set is ``{"runs": {label: row}, "setup": {...}}``; a label is the library size N as a string,
or ``real`` for the build of the real reports. A row holds what each step measured (``build``,
``serve``, ``eval``, ``add_remove``, ``disk``); a missing step is shown as "-".
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

INSTALL_PLOT = "pip install matplotlib  (or: pip install '.[bench]')"

# (heading, how to read it from a row); None when the row lacks it
COLUMNS: list[tuple[str, Callable[[dict], object]]] = [
    ("N", lambda r: r.get("label")),
    ("reports (bundled+real+synthetic)", lambda r: _composition(r)),
    ("chunks", lambda r: _get(r, "build", "chunks")),
    ("build s", lambda r: _get(r, "build", "build_s")),
    ("chunks/s", lambda r: _get(r, "build", "chunks_per_s")),
    ("embedded fresh / cached", lambda r: _fresh_cached(r)),
    ("add 1 report s (chunks)", lambda r: _add(r)),
    ("remove s", lambda r: _get(r, "add_remove", "remove_s")),
    ("cold start s", lambda r: _get(r, "serve", "cold_start_s")),
    ("first answer ms", lambda r: _get(r, "serve", "first_answer_ms")),
    ("answer p50 ms", lambda r: _get(r, "serve", "answer_ms", "p50")),
    ("answer p95 ms", lambda r: _get(r, "serve", "answer_ms", "p95")),
    ("peak RSS MB", lambda r: _get(r, "serve", "peak_rss_mb")),
    ("index MB", lambda r: _get(r, "disk", "index_mb")),
    ("hit@3", lambda r: _get(r, "eval", "hit@3")),
]
# What the growth rows compare: (heading, path into a row)
GROWTH: list[tuple[str, tuple[str, ...]]] = [
    ("chunks", ("build", "chunks")),
    ("build s", ("build", "build_s")),
    ("add 1 report s", ("add_remove", "add_s")),
    ("cold start s", ("serve", "cold_start_s")),
    ("answer p50 ms", ("serve", "answer_ms", "p50")),
    ("answer p95 ms", ("serve", "answer_ms", "p95")),
    ("peak RSS MB", ("serve", "peak_rss_mb")),
    ("index MB", ("disk", "index_mb")),
]


def _get(row: dict, *path: str):
    value = row
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _composition(row: dict):
    library = row.get("library")
    if not library:
        return None
    return f"{library['bundled']}+{library['real']}+{library['synthetic']}"


def _fresh_cached(row: dict):
    fresh, cached = _get(row, "build", "embedded_fresh"), _get(row, "build", "from_cache")
    if fresh is None and cached is None:
        return None
    return f"{'?' if fresh is None else fresh} / {'?' if cached is None else cached}"


def _add(row: dict):
    seconds = _get(row, "add_remove", "add_s")
    return None if seconds is None else f"{seconds} ({_get(row, 'add_remove', 'chunks')})"


def cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1 else f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def ordered_labels(runs: dict[str, dict]) -> list[str]:
    """Numeric sizes in increasing order, then the real build."""
    numeric = sorted((label for label in runs if label.isdigit()), key=int)
    return numeric + [label for label in runs if not label.isdigit()]


def growth(runs: dict[str, dict]) -> list[dict]:
    """Ratios between consecutive library sizes (e.g. 100→1000): how each figure grows with N."""
    sizes = [label for label in ordered_labels(runs) if label.isdigit()]
    rows = []
    for small, large in zip(sizes, sizes[1:]):
        ratios = {}
        for name, path in GROWTH:
            a, b = _get(runs[small], *path), _get(runs[large], *path)
            ratios[name] = round(b / a, 2) if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a else None
        rows.append({"from": int(small), "to": int(large), "n_ratio": round(int(large) / int(small), 2),
                     "ratios": ratios})
    return rows


def markdown_table(results: dict) -> str:
    runs = results["runs"]
    lines = ["| " + " | ".join(name for name, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for label in ordered_labels(runs):
        row = {**runs[label], "label": "143 (real, all fresh)" if label == "real" else label}
        lines.append("| " + " | ".join(cell(read(row)) for _, read in COLUMNS) + " |")
    ratios = growth(runs)
    if ratios:
        lines += ["", "Growth between library sizes (value at the larger N / value at the smaller N):", "",
                  "| N | N ratio | " + " | ".join(name for name, _ in GROWTH) + " |", "|" + "---|" * (len(GROWTH) + 2)]
        for g in ratios:
            cells = " | ".join(cell(g["ratios"][name]) for name, _ in GROWTH)
            lines.append(f"| {g['from']}→{g['to']} | {g['n_ratio']} | {cells} |")
    return "\n".join(lines)


def notes(results: dict) -> list[str]:
    setup = results.get("setup", {})
    lines = [f"- {key}: {value}" for key, value in setup.items()]
    for label in ordered_labels(results["runs"]):
        for note in results["runs"][label].get("notes", []):
            lines.append(f"- N={label}: {note}")
    return lines


def markdown_document(results: dict) -> str:
    return "\n".join(["# Library scale benchmark", "",
                      "Produced by `python -m bot.bench --library N[,N…]` (see bot/library_bench.py).", "",
                      markdown_table(results), "", "## How it was measured", "", *notes(results), ""])


def merge(previous: dict | None, runs: dict[str, dict], setup: dict) -> dict:
    """Earlier results with this run's rows replacing those of the same label."""
    merged = {"runs": dict((previous or {}).get("runs", {})), "setup": {**(previous or {}).get("setup", {}), **setup}}
    merged["runs"].update(runs)
    merged["growth"] = growth(merged["runs"])
    return merged


def plot(results: dict, path: Path) -> str | None:
    """Latency, memory and cold start against N (log scale); returns why not when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return f"matplotlib is not installed, so no plot was drawn: {INSTALL_PLOT}"
    runs = results["runs"]
    sizes = [label for label in ordered_labels(runs) if label.isdigit() and runs[label].get("serve")]
    if not sizes:
        return "no serving figures to plot yet"
    xs = [int(s) for s in sizes]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    series = [
        (axes[0], "full answer latency (ms)", [("p50", ("serve", "answer_ms", "p50")), ("p95", ("serve", "answer_ms", "p95"))]),
        (axes[1], "peak RSS of the serving process (MB)", [("RSS", ("serve", "peak_rss_mb"))]),
        (axes[2], "cold start until it can answer (s)", [("cold start", ("serve", "cold_start_s"))]),
    ]
    for ax, title, lines in series:
        for name, key in lines:
            ax.plot(xs, [_get(runs[s], *key) for s in sizes], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("reports in the library (N)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        if len(lines) > 1:
            ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(results: dict, folder: Path, stem: str = "library-scale") -> list[str]:
    """library-scale.json, .md and .png in ``folder``; returns messages for the user."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / f"{stem}.md").write_text(markdown_document(results), encoding="utf-8")
    messages = [f"wrote {folder / f'{stem}.json'} and {folder / f'{stem}.md'}"]
    problem = plot(results, folder / f"{stem}.png")
    messages.append(problem or f"wrote {folder / f'{stem}.png'}")
    return messages
