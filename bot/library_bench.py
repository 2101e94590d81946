"""python -m bot.bench --library N[,N...] [--workdir var/bench-library] [--rebuild] [--real | --real-log FILE]

How the bot scales with the size of its library. For each N it builds an index of N reports (the
bundled ones in the data folder, then real reports, then synthetic ones recombined from the real
reports' parts, see bot/synthetic_library.py) and measures: build time and chunks/s, passages embedded
fresh vs taken from the shared embedding cache; adding one real report that is not in the library
(embedded fresh, the cache switched off) and removing it again; in a fresh serving process the cold
start, warm full-answer latency p50/p95 over the dev questions asked with their report chosen, and
peak RSS; the index's size on disk; retrieval hit@3 of the dev questions.

Each N lives in its own folder under the work folder; every step's result is kept there, so a run
that stops is resumed where it stopped (``--rebuild`` starts that N again). All sizes share one
embedding cache (``--cache``), which ``--seed-cache`` fills from another cache, e.g. that of a build of
the real library. Results are merged into docs/bench/library-scale.{json,md,png}.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot import library_report

DEFAULT_WORKDIR = Path("var/bench-library")
DEFAULT_REAL_DIR = Path("../shared/corpus/library")
DEFAULT_QUESTIONS = Path("../shared/eval/dev.jsonl")
DEFAULT_OUT = Path("docs/bench")
REAL = "real"
STEPS = ("build", "serve", "eval", "add_remove")


# --- which reports make a library of N ---------------------------------------------------------

@dataclass
class LibraryPlan:
    n: int
    bundled: list[Path]
    real: list[Path]
    synthetic: int
    held_out: Path | None  # a real report never in the library: the one added and removed again
    sources: tuple[Path, ...] = ()  # the real reports synthetic ones are recombined from

    def summary(self) -> dict:
        return {"n": self.n, "bundled": len(self.bundled), "real": len(self.real), "synthetic": self.synthetic,
                "held_out": self.held_out.name if self.held_out else None}


def plan_library(n: int, bundled: list[Path], real: list[Path], max_real: int | None = None) -> LibraryPlan:
    """The bundled reports first (the eval questions are about them), then real reports in name order
    (the last one held out), then as many synthetic ones as it takes to reach N."""
    if n < len(bundled):
        raise ValueError(f"N={n} is smaller than the {len(bundled)} bundled reports the questions need")
    real = sorted(real)
    held_out, pool = (real[-1], real[:-1]) if real else (None, [])
    take = min(n - len(bundled), len(pool), len(pool) if max_real is None else max_real)
    # With a cap, synthetic reports are recombined from the capped real ones too (those whose vectors
    # a seeded cache holds), so the cap bounds what is embedded fresh.
    sources = pool if max_real is None else pool[:max(max_real, 1)]
    return LibraryPlan(n, sorted(bundled), pool[:take], n - len(bundled) - take, held_out, tuple(sources))


def materialise(plan: LibraryPlan, folder: Path, seed: int) -> None:
    """The library folder: links to the bundled and real files, the synthetic reports written out.
    Synthetic reports recombine the parts of every real report except the held-out one."""
    from bot.synthetic_library import read_sources, synthetic_reports, write_reports

    folder.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, Path | None] = {p.name: p for p in [*plan.bundled, *plan.real]}
    if plan.synthetic:
        sources = read_sources(list(plan.sources))
        for path in write_reports(synthetic_reports(sources, plan.synthetic, seed), folder):
            wanted[path.name] = None
    for entry in folder.iterdir():  # left over from another N or seed
        if entry.name not in wanted:
            entry.unlink()
    for name, target in wanted.items():
        link = folder / name
        if target is not None and not link.is_symlink():
            link.unlink(missing_ok=True)
            link.symlink_to(target.resolve())


# --- the shared embedding cache ----------------------------------------------------------------

def seed_cache(cache: Path, seed: Path) -> int:
    """Copy the vectors ``seed`` has and ``cache`` lacks (read-only on ``seed``: a build may be writing
    to it). Returns how many were added."""
    from index.embedding_cache import EmbeddingCache

    if not seed.is_file():
        raise FileNotFoundError(f"no embedding cache {seed}")
    EmbeddingCache(cache, "schema-only").close()  # creates the table when the cache is new
    db = sqlite3.connect(f"file:{cache}", uri=True, timeout=60)  # uri: so the seed can be attached read-only
    try:
        before = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
        db.execute("ATTACH DATABASE ? AS seed", (f"file:{seed.resolve()}?mode=ro",))
        db.execute("INSERT OR IGNORE INTO main.vectors SELECT model, digest, vector FROM seed.vectors")
        db.commit()
        after = db.execute("SELECT count(*) FROM main.vectors").fetchone()[0]
    finally:
        db.close()
    return after - before


def file_mb(*paths: Path) -> float:
    return round(sum(p.stat().st_size for p in paths if p.exists()) / 2**20, 1)


def folder_mb(folder: Path) -> float:
    return file_mb(*(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()))


# --- steps that run in a child process (settings from QA_* variables, as everywhere) ----------

def step_build() -> dict:
    """Build the index of the data folder (pruning what is not in it); run in a child process."""
    from index.components import open_index
    from index.settings import IndexSettings

    settings = IndexSettings()
    started = time.perf_counter()
    components = open_index(settings)
    opened = time.perf_counter()
    report = components.indexer.build([settings.data_dir], prune=True, progress=_progress_bar())
    built = time.perf_counter()
    written = [r for r in report.results if r.status in ("added", "updated")]
    passages = components.indexer.embeddings
    chunks_written = sum(r.chunks for r in written)
    return {
        "provider": settings.embedding_provider, "model": components.embeddings.model_id,
        "documents": len(components.store.manifest()), "chunks": components.store.count(),
        "sentence_vectors": components.store.sentences.count(),
        "written": len(written), "unchanged": len(report.by_status("unchanged")),
        "failed": [r.error for r in report.failed],
        "open_s": round(opened - started, 2), "build_s": round(built - opened, 1),
        "chunks_written": chunks_written,
        "chunks_per_s": round(chunks_written / (built - opened), 2) if chunks_written else None,
        # texts = chunks, sentences and section titles: embedded by the model / taken from the cache
        "embedded_fresh": sum(r.embedded for r in written),
        "from_cache": sum(getattr(r, "reused", 0) for r in written),
        "cache_counts": {"fresh": getattr(passages, "fresh", None), "cached": getattr(passages, "cached", None)},
        "cache": str(settings.embedding_cache_path or settings.index_dir / "embeddings.sqlite3")
        if settings.embedding_cache else "off",
    }


def step_add_remove(path: Path) -> dict:
    """Add one report to the index and remove it again, timing each; run in a child process."""
    from index.components import open_index
    from index.settings import IndexSettings

    settings = IndexSettings()
    components = open_index(settings)
    components.keywords.tokenizer.warm_up()  # as the app does at start (bot/chain.py): it adds reports warm
    started = time.perf_counter()
    report = components.indexer.build([path])
    added = time.perf_counter()
    removed_chunks = components.indexer.remove(path.name)
    removed = time.perf_counter()
    result = report.results[0]
    passages = components.indexer.embeddings
    return {"report": path.name, "status": result.status, "error": result.error, "chunks": result.chunks,
            "add_s": round(added - started, 2), "remove_s": round(removed - added, 2), "removed_chunks": removed_chunks,
            "embedded_fresh": getattr(passages, "fresh", result.embedded),
            "cache": "on" if settings.embedding_cache else "off (QA_EMBEDDING_CACHE=false: every passage embedded fresh)"}


def _progress_bar():
    from index.__main__ import _progress_bar as bar

    return bar()


# --- running one library size ------------------------------------------------------------------

@dataclass
class Run:
    """Where one library size lives and how its child processes are configured."""
    label: str
    folder: Path
    cache: Path

    @property
    def library(self) -> Path:
        return self.folder / "library"

    @property
    def index(self) -> Path:
        return self.folder / "index"

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "QA_INDEX_DIR": str(self.index), "QA_DATA_DIR": str(self.library),
               "QA_EMBEDDING_CACHE_PATH": str(self.cache), "PYTHONUNBUFFERED": "1"}
        env.update(extra)
        return env

    def saved(self, step: str) -> dict | None:
        path = self.folder / f"{step}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def save(self, step: str, result: dict) -> None:
        (self.folder / f"{step}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")

    def forget(self, *steps: str) -> None:
        for step in steps:
            (self.folder / f"{step}.json").unlink(missing_ok=True)


def child_json(command: list[str], env: dict[str, str], what: str) -> dict:
    """Run a child process, its stderr shown as it goes; its stdout's JSON is the result."""
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(command)}")
    return json.loads(done.stdout[done.stdout.index("{"):])


def run_size(run: Run, plan: LibraryPlan | None, args, log) -> dict:
    """All steps for one library size, each skipped when its result is already kept."""
    py = sys.executable
    if args.rebuild:
        shutil.rmtree(run.index, ignore_errors=True)
        run.forget(*STEPS)
    row: dict = {"library": plan.summary() if plan else None, "notes": []}
    build = run.saved("build")
    wanted = {**plan.summary(), "seed": args.seed} if plan else None
    if build and build.get("plan", wanted) != wanted:
        log("build: the kept build was of another library (size, sources or seed); building again")
        build = None
    if build:
        log(f"build: reusing the complete build of {build['documents']} reports in {run.index} (--rebuild to redo)")
    else:
        run.forget(*STEPS)  # whatever was measured belonged to an index that is being rebuilt
        resumed = run.index.exists()
        log(f"build: {run.library} -> {run.index} (cache {run.cache})" + (" [resuming an unfinished build]" if resumed else ""))
        build = child_json([py, "-m", "bot.library_bench", "--step", "build"], run.env(), "build")
        if build["failed"]:
            log(f"build: {len(build['failed'])} report(s) failed: {build['failed'][:3]}")
        build["resumed"] = resumed
        build["plan"] = wanted
        build["index_mb"] = folder_mb(run.index)  # now, before add/remove leaves its traces
        run.save("build", build)
        log(f"build: {build['documents']} reports, {build['chunks']} chunks in {build['build_s']} s "
            f"({build['chunks_per_s']} chunks/s, {build['provider']} {build['model']}); "
            f"embedded {build['embedded_fresh']} fresh, {build['from_cache']} from cache")
    if build.get("resumed"):
        row["notes"].append("the build was resumed after an interruption: its time covers only the reports "
                            "written in the last attempt")
    row["build"] = build
    row["disk"] = {"index_mb": build.get("index_mb", folder_mb(run.index))}

    serve = run.saved("serve")
    if not serve:
        log(f"serve: a fresh `python -m bot.bench --scoped` process, {args.questions} x {args.rounds} rounds")
        load = os.getloadavg()[0]  # the machine may be shared: figures from a busy one read high
        serve = child_json([py, "-m", "bot.bench", "--json", "--scoped", "--questions", str(args.questions),
                            "--rounds", str(args.rounds)], run.env(), "serving bench")
        serve["load_avg_1m_before"] = round(load, 2)
        run.save("serve", serve)
    log(f"serve: cold start {serve['cold_start_s']} s, answer p50 {serve['answer_ms']['p50']} ms "
        f"p95 {serve['answer_ms']['p95']} ms, peak RSS {serve['peak_rss_mb']} MB")
    row["serve"] = serve
    if "load_avg_1m_before" in serve:
        row["notes"].append(f"load average (1 min) when serving began: {serve['load_avg_1m_before']} "
                            f"on {os.cpu_count()} cores")

    evaluation = run.saved("eval")
    if not evaluation:
        log(f"eval: `python -m bot.eval {args.questions} --json` (items scoped to their report)")
        raw = child_json([py, "-m", "bot.eval", str(args.questions), "--json"], run.env(), "eval")
        overall = next(iter(raw["overall"]["overall"].values()))
        evaluation = {key: overall.get(key) for key in ("n", "hit@1", "hit@3", "mrr", "accuracy")}
        run.save("eval", evaluation)
    log(f"eval: hit@3 {library_report.cell(evaluation['hit@3'])}, accuracy "
        f"{library_report.cell(evaluation['accuracy'])} over {evaluation['n']} items")
    row["eval"] = evaluation

    if plan and plan.held_out:
        add_remove = run.saved("add_remove")
        if not add_remove:
            log(f"add/remove: {plan.held_out.name} with QA_EMBEDDING_CACHE=false")
            add_remove = child_json([py, "-m", "bot.library_bench", "--step", "add_remove", "--file",
                                     str(plan.held_out)], run.env(QA_EMBEDDING_CACHE="false"), "add/remove")
            run.save("add_remove", add_remove)
        log(f"add/remove: {add_remove['report']} ({add_remove['chunks']} chunks) added in {add_remove['add_s']} s, "
            f"removed in {add_remove['remove_s']} s")
        row["add_remove"] = add_remove
    return row


def real_from_log(path: Path) -> dict:
    """Build figures of the real library read from a `python -m index build` log (its per-file lines
    and "done in X s; index holds N chunks"; "embedded N texts fresh, M from the cache" when it says so)."""
    import re

    text = path.read_text(encoding="utf-8", errors="replace")
    done = re.findall(r"done in ([\d.]+)s; index holds (\d+) chunks", text)
    if not done:
        raise ValueError(f"{path}: no 'done in X s' line yet (is the build still running?)")
    seconds, chunks = float(done[-1][0]), int(done[-1][1])
    statuses = re.findall(r"^(added|updated|unchanged|failed)\s+\S+", text, flags=re.M)
    written = sum(int(n) for n in re.findall(r"^(?:added|updated)\s+\S+: (\d+) chunks", text, flags=re.M))
    embedded = re.findall(r"embedded (\d+) (?:texts )?fresh, (\d+) from", text)
    build = {"documents": len(statuses) - statuses.count("failed"), "chunks": chunks, "build_s": seconds,
             "chunks_per_s": round((written or chunks) / seconds, 2), "failed": statuses.count("failed"),
             "source": f"read from the log {path}"}
    if embedded:
        build["embedded_fresh"], build["from_cache"] = map(int, embedded[-1])
    return {"library": None, "build": build,
            "notes": [f"build figures read from {path}, not measured by this run (the whole process, "
                      "model load included)"]}


# --- command line -------------------------------------------------------------------------------

def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.bench --library", description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=parse_sizes, default=[], metavar="N[,N...]",
                        help="library sizes to measure, e.g. 10,100,1000 (N counts the bundled reports)")
    parser.add_argument("--real", action="store_true",
                        help="also build the bundled + all real reports with a cache of their own (all fresh)")
    parser.add_argument("--real-seed-cache", type=Path, action="append", default=[],
                        help="with --real: copy these caches' vectors into the real build's own cache first")
    parser.add_argument("--real-log", type=Path, help="instead of --real: read the real build's figures from this "
                        "`python -m index build` log")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--rebuild", action="store_true", help="build each N again instead of reusing it")
    parser.add_argument("--cache", type=Path, help="the embedding cache all sizes share "
                        "(default: WORKDIR/embeddings.sqlite3)")
    parser.add_argument("--seed-cache", type=Path, action="append", default=[],
                        help="copy vectors from this cache into the shared one first (repeatable; read-only)")
    parser.add_argument("--data", type=Path, help="the bundled reports (default: QA_DATA_DIR, i.e. data/)")
    parser.add_argument("--real-dir", type=Path, default=DEFAULT_REAL_DIR, help="the real reports")
    parser.add_argument("--max-real", type=int, help="use at most this many real reports; the rest are synthetic, recombined from those same "
                        "reports (e.g. the ones a seeded cache holds)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the synthetic places and combinations")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the questions for the latency figures")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where library-scale.{md,json,png} go")
    parser.add_argument("--step", choices=["build", "add_remove"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.step and not args.library and not args.real and not args.real_log:
        parser.error("give --library N[,N...] and/or --real / --real-log FILE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.step:
        result = step_build() if args.step == "build" else step_add_remove(args.file)
        print(json.dumps(result, ensure_ascii=False))
        return 0
    from index.settings import IndexSettings

    settings = IndexSettings()
    bundled = sorted(p for p in (args.data or settings.data_dir).iterdir() if p.is_file())
    real = sorted(p for p in args.real_dir.iterdir() if p.is_file()) if args.real_dir.is_dir() else []
    if not args.questions.is_file():
        print(f"error: no question file {args.questions}", file=sys.stderr)
        return 2
    args.workdir.mkdir(parents=True, exist_ok=True)
    cache = (args.cache or args.workdir / "embeddings.sqlite3").resolve()
    for seed in args.seed_cache:
        print(f"cache: {seed_cache(cache, seed)} vectors copied from {seed} into {cache}", flush=True)

    runs: dict[str, dict] = {}
    for n in args.library:
        plan = plan_library(n, bundled, real, args.max_real)
        run = Run(str(n), (args.workdir / f"n{n}").resolve(), cache)

        def log(message: str, label=run.label) -> None:
            print(f"[N={label}] {message}", flush=True)

        materialise_into(plan, run, args, log)
        runs[run.label] = run_size(run, plan, args, log)
    if args.real_log:
        runs[REAL] = real_from_log(args.real_log)
    elif args.real:
        plan = LibraryPlan(len(bundled) + len(real), bundled, real, 0, None)
        run = Run(REAL, (args.workdir / REAL).resolve(), (args.workdir / REAL / "embeddings.sqlite3").resolve())

        def log(message: str) -> None:
            print(f"[real] {message}", flush=True)

        materialise(plan, run.library, args.seed)
        for seed in args.real_seed_cache:
            log(f"cache: {seed_cache(run.cache, seed)} vectors copied from {seed} into {run.cache}")
        runs[REAL] = run_size(run, plan, args, log)
        build = runs[REAL]["build"]
        runs[REAL]["notes"].append(
            "built with a cache of its own: " + (
                "every passage embedded fresh" if not build["from_cache"] else
                f"{build['embedded_fresh']} passages embedded fresh, {build['from_cache']} already in it "
                "(vectors of an earlier, interrupted build of the same reports, --real-seed-cache)"))
        print(f"cache: {seed_cache(cache, run.cache)} vectors of the real build copied into {cache}", flush=True)

    setup = describe_setup(args, settings, cache, bundled, real)
    previous_path = args.out / "library-scale.json"
    previous = json.loads(previous_path.read_text(encoding="utf-8")) if previous_path.exists() else None
    results = library_report.merge(previous, runs, setup)
    print()
    print(library_report.markdown_table(results))
    for message in library_report.write(results, args.out):
        print(message)
    return 0


def materialise_into(plan: LibraryPlan, run: Run, args, log) -> None:
    log(f"library: {plan.n} reports = {len(plan.bundled)} bundled + {len(plan.real)} real + {plan.synthetic} "
        f"synthetic (seed {args.seed}) in {run.library}")
    materialise(plan, run.library, args.seed)


def _shown(path: Path) -> Path:
    """A path relative to the working folder when it lies inside it (results go into the repository)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def describe_setup(args, settings, cache: Path, bundled: list[Path], real: list[Path]) -> dict:
    return {
        "machine": f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "embedding": f"{settings.embedding_provider} ({settings.embedding_model})",
        "library": f"{len(bundled)} bundled reports from {args.data or settings.data_dir}, real reports from "
                   f"{args.real_dir} ({len(real)}; the last by name held out for the add/remove step), then "
                   "synthetic reports recombining whole parts of the real ones (bot/synthetic_library.py)",
        "embedding cache": f"{_shown(cache)} ({library_report.cell(file_mb(cache, Path(str(cache) + '-wal')))} MB, "
                           "shared by every N, not counted in the index size)",
        "build": "in a child process, the store opened first (its time is not counted); chunks/s = chunks "
                 "written / build time; fresh / cached count passages (chunks, sentences, section titles) "
                 "embedded by the model / taken from the cache",
        "add 1 report": "the held-out real report built into the index of that N with QA_EMBEDDING_CACHE=false "
                        "(every passage embedded fresh), then removed",
        "serving": f"`python -m bot.bench --json --scoped --questions {args.questions} --rounds {args.rounds}` "
                   "in a fresh process: cold start = imports + model load + index open + warm-up; latency of "
                   "the full answer with each item's report chosen; peak RSS of that process",
        "retrieval": f"`python -m bot.eval {args.questions} --json`: hit@3 over the items with markers",
    }


if __name__ == "__main__":
    sys.exit(main())
