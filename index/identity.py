"""A report's identity: its title, place, years and kind, read from its own text at ingest."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportIdentity:
    title: str = ""  # "丽水市2024年政府工作报告"
    place: str = ""  # "丽水市"; "" unknown
    year: int = 0  # the year in the title / the year it is delivered (2024); 0 unknown
    kind: str = ""  # "annual" | "mid-year" | "plan" | ""
    review_year: int = 0  # the year its results part covers (2023 in a 2024 annual report)
    plan_year: int = 0  # the year its plans part covers (2024)
