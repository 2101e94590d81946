"""python -m index build [PATH ...] | rebuild | list | remove DOC"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from index.store import EmbeddingMismatchError, IndexBusyError, IndexCorruptError


def _progress_bar():
    """A tqdm bar over every text the build embeds (chunks, sentences, titles), so its ETA is honest."""
    from tqdm import tqdm

    bar = None

    def update(done: int, total: int, doc_id: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="text", desc="embedding", file=sys.stderr, leave=False,
                       smoothing=0.1)  # cached texts come in bursts; a longer memory steadies the ETA
        bar.set_postfix_str(doc_id, refresh=False)
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def describe_identity(identity) -> str:
    """"丽水市, 2024 (reviews 2023, plans 2024), annual"; unknown fields are said to be unknown."""
    years = f"{identity.year}" if identity.year else "year unknown"
    covered = [f"{word} {year}" for word, year in (("reviews", identity.review_year), ("plans", identity.plan_year))
               if year]
    if covered:
        years += f" ({', '.join(covered)})"
    return f"{identity.place or 'place unknown'}, {years}, {identity.kind or 'kind unknown'}"


def print_listing(components) -> None:
    docs = components.store.documents()
    if not docs:
        print("index is empty")
        return
    identities = {c.meta.doc_id: c.meta.identity for c in components.store.chunks_where({"ordinal": 0})}
    for doc in docs:
        identity = identities.get(doc["doc_id"])
        about = f"  {describe_identity(identity)}" if identity else ""
        print(f"{doc['doc_id']}  「{doc['title']}」{about}  {doc['chunks']} chunks")
        for section in doc["sections"]:
            print(f"    {section['chunks']:>3}  {section['path']}")
    print(f"{len(docs)} document(s), {components.store.count()} chunks")


def print_report(report, components, started: float) -> int:
    for result in report.results:
        detail = (result.error if result.status == "failed"
                  else f"{result.chunks} chunks, {result.embedded} embedded, {result.reused} reused")
        print(f"{result.status:<9} {result.doc_id}: {detail}")
    embedded, reused = sum(r.embedded for r in report.results), sum(r.reused for r in report.results)
    print(f"embedded {embedded} texts fresh, {reused} from the cache or the previous version")
    print(f"done in {time.perf_counter() - started:.1f}s; index holds {components.store.count()} chunks")
    return 1 if report.failed and len(report.failed) == len(report.results) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m index", description="Build and inspect the report index.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="index files or folders (default: the data folder)")
    build.add_argument("paths", nargs="*", type=Path)
    build.add_argument("--prune", action=argparse.BooleanOptionalAction, default=None,
                       help="remove indexed documents whose files are gone (default: on when no PATH is given)")
    sub.add_parser("rebuild", help="move the index aside (chroma.broken-<time>) and build it from the data folder")
    sub.add_parser("list", help="documents and sections in the index")
    remove = sub.add_parser("remove", help="remove a document by its id (file name)")
    remove.add_argument("doc")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, settings) -> int:
    from index.components import open_index, rebuild_index

    started = time.perf_counter()
    if args.command == "rebuild":
        moved, components, report = rebuild_index(settings, progress=_progress_bar())
        print(f"moved the old index to {moved}" if moved else "no index to move aside")
        return print_report(report, components, started)
    components = open_index(settings)
    if args.command == "list":
        print_listing(components)
        return 0
    if args.command == "remove":
        removed = components.indexer.remove(args.doc)
        if not removed:
            print(f"error: no document {args.doc!r} in the index", file=sys.stderr)
            return 1
        print(f"removed {args.doc} ({removed} chunks)")
        return 0
    paths = args.paths or [settings.data_dir]
    prune = (not args.paths) if args.prune is None else args.prune
    return print_report(components.indexer.build(paths, prune=prune, progress=_progress_bar()), components, started)


def main(argv: list[str] | None = None) -> int:
    from index.embeddings import EmbeddingServiceError
    from index.settings import IndexSettings

    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return run(args, IndexSettings())
    except IndexBusyError as exc:
        print(f"error: {exc}. Try again when the other build has finished.", file=sys.stderr)
        return 2
    except IndexCorruptError as exc:
        print(exc.message_zh, file=sys.stderr)
        return 2
    except EmbeddingServiceError as exc:
        print(f"error: {exc}. What was embedded is cached; run the build again to resume.", file=sys.stderr)
        return 2
    except (EmbeddingMismatchError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
