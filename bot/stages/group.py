"""Group: which reports answer a question that names none. Each report whose own passages pass the
gate gets its own part of the answer, newest first; one report alone answers as usual."""
from __future__ import annotations

from dataclasses import dataclass, replace

from bot.catalog import Catalog
from bot.query import QuestionInfo
from bot.stages.gate import Evidence, EvidenceGate
from bot.stages.retrieve import Hit, Retrieved


@dataclass(frozen=True)
class ReportFinding:
    doc_id: str
    title: str
    year: int
    found: Retrieved  # the question's passages in this report only
    evidence: Evidence


def findings_by_report(info: QuestionInfo, found: Retrieved, gate: EvidenceGate, catalog: Catalog,
                       most: int) -> list[ReportFinding]:
    """The reports whose passages answer the question on their own, newest first (at most ``most``,
    kept by evidence)."""
    by_doc: dict[str, list[Hit]] = {}
    for hit in found.hits:
        by_doc.setdefault(hit.chunk.meta.doc_id, []).append(hit)
    reports = catalog.by_id()
    findings = []
    for doc_id, hits in by_doc.items():
        own = replace(found, hits=hits)
        evidence = gate.judge(info, own)
        if evidence.passes and doc_id in reports:
            report = reports[doc_id]
            findings.append(ReportFinding(doc_id, report.title, report.identity.year, own, evidence))
    findings = sorted(findings, key=lambda f: -f.evidence.value)[:most]
    return sorted(findings, key=lambda f: (-f.year, f.title))
