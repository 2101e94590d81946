"""The question bank in bank/ (well-formed, grounded in its reports, spread, held-out split) and the
eval tool's tables, both without a model."""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from bot.eval import (ACROSS, breakdown, breakdowns, category_of, format_breakdown, format_breakdowns, is_failure,
                      judge, main, report_of, select_split, split_of)
from bot.types import Answer, Source

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "bank"
DATA = ROOT / "data"
SHARED_EVAL = ROOT.parent / "shared" / "eval"
CATEGORIES = {"plain", "paraphrase", "masked", "followup", "phase", "near-miss", "out-of-scope", "scoped", "across",
              "english"}
KIND_OF_CATEGORY = {"paraphrase": "paraphrase", "masked": "masked", "followup": "multiturn",
                    "near-miss": "refuse", "out-of-scope": "refuse", "english": "variant"}
REPORTS = ("district-report-2022-h1", "lishui-2024", "shunping-2024")
PLACE_OF_REPORT = {"lishui-2024.txt": "丽水", "shunping-2024.txt": "顺平"}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bank_files() -> list[Path]:
    return sorted(BANK.glob("*.jsonl"))


def all_items() -> list[dict]:
    return [item for path in bank_files() for item in load(path)]


def docs_of(item: dict) -> list[str]:
    return item.get("docs") or [item["doc"]]


def report_texts(item: dict) -> list[str]:
    return [(DATA / doc).read_text(encoding="utf-8") for doc in docs_of(item)]


def answerable(item: dict) -> bool:
    return item.get("kind") != "refuse"


def expected_split(item_id: str) -> str:
    return "validation" if int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 3 == 0 else "dev"


def bigrams(text: str) -> set[str]:
    letters = "".join(ch for ch in text if ch.isalnum())
    return {letters[i:i + 2] for i in range(len(letters) - 1)}


def jaccard(a: str, b: str) -> float:
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


# -- the bank -----------------------------------------------------------------------------------------------

def test_there_is_one_file_per_report_plus_the_across_file():
    assert {p.stem for p in bank_files()} == {*REPORTS, "across"}


@pytest.mark.parametrize("path", bank_files(), ids=lambda p: p.name)
def test_every_line_is_a_json_object_with_the_required_fields(path):
    items = load(path)
    assert items
    for item in items:
        assert isinstance(item["id"], str) and item["id"], item
        assert isinstance(item["q"], str) and item["q"].strip(), item["id"]
        assert item["category"] in CATEGORIES, item["id"]
        assert item["split"] in ("dev", "validation"), item["id"]
        assert item.get("kind") == KIND_OF_CATEGORY.get(item["category"]), item["id"]
        assert isinstance(item["markers"], list) and isinstance(item["groups"], list), item["id"]
        assert isinstance(item["min"], int), item["id"]
        if path.stem == "across":
            assert "doc" not in item and len(item["docs"]) >= 2, item["id"]
            assert item["category"] == "across", item["id"]
        else:
            assert "docs" not in item and item["doc"] == path.stem + ".txt", item["id"]
        assert all((DATA / doc).is_file() for doc in docs_of(item)), item["id"]


def test_ids_are_unique_across_the_bank():
    repeated = [i for i, n in Counter(item["id"] for item in all_items()).items() if n > 1]
    assert not repeated


def test_no_question_is_asked_twice_with_the_same_history():
    asked = Counter((item["q"], json.dumps(item.get("history"), ensure_ascii=False)) for item in all_items())
    assert not [q for q, n in asked.items() if n > 1]


def test_markers_are_exact_unambiguous_substrings_of_their_report():
    for item in filter(answerable, all_items()):
        texts = report_texts(item)
        assert item["markers"], item["id"]
        for marker in item["markers"]:
            assert 8 <= len(marker) <= 30, (item["id"], marker)
            occurrences = sum(text.count(marker) for text in texts)
            assert occurrences >= 1, (item["id"], marker)
            if len(texts) == 1:  # one report: the marker names one passage
                assert occurrences == 1, (item["id"], marker)


def test_groups_of_answerable_items_are_exact_substrings_of_their_reports():
    for item in all_items():
        if not answerable(item) or item["category"] == "masked":
            continue
        texts = report_texts(item)
        assert item["groups"] and 1 <= item["min"] <= len(item["groups"]), item["id"]
        for group in item["groups"]:
            for text in group:
                assert any(text in report for report in texts), (item["id"], text)


def test_refusals_have_no_markers_or_groups():
    for item in all_items():
        if not answerable(item):
            assert item["markers"] == [] and item["groups"] == [] and item["min"] == 0, item["id"]


def test_masked_items_require_saying_the_figure_is_hidden_and_forbid_an_invented_one():
    masked = [item for item in all_items() if item["category"] == "masked"]
    for item in masked:
        (report,) = report_texts(item)
        assert item["min"] >= 1 and any("未公开" in group for group in item["groups"]), item["id"]
        assert item["not_re"], item["id"]
        marker = item["markers"][0]
        at = report.index(marker)
        clause = report[at:re.search(r"[，；。]|$", report[at + len(marker):]).start() + at + len(marker)]
        sentence = report[report.rfind("。", 0, at) + 1:report.find("。", at)]
        assert "*" in clause, item["id"]
        for pattern in item["not_re"]:
            assert re.search(pattern, re.sub(r"\*+", "8", clause)), (item["id"], pattern)  # a made-up figure
            assert not re.search(pattern, sentence), (item["id"], pattern)  # quoting the report is honest


def test_followups_carry_user_assistant_pairs():
    for item in all_items():
        if item["category"] != "followup":
            assert "history" not in item, item["id"]
            continue
        assert item["history"], item["id"]
        for pair in item["history"]:
            assert len(pair) == 2 and all(isinstance(turn, str) and turn for turn in pair), item["id"]


def test_across_items_require_each_named_place():
    for item in all_items():
        if item["category"] != "across":
            continue
        places = [PLACE_OF_REPORT[doc] for doc in docs_of(item) if doc in PLACE_OF_REPORT]
        assert len(places) >= 2, item["id"]
        assert all([place] in item["groups"] for place in places), item["id"]
        assert item["min"] >= len(places), item["id"]


def test_scoped_items_name_their_place_or_year():
    for item in all_items():
        if item["category"] == "scoped":
            place = PLACE_OF_REPORT.get(item["doc"], "")
            assert re.search(r"20\d\d年", item["q"]) or (place and place in item["q"]), item["id"]


def test_the_split_is_the_fixed_hash_of_the_id_and_about_a_third_is_validation():
    items = all_items()
    assert all(item["split"] == expected_split(item["id"]) for item in items)
    for path in bank_files():
        splits = Counter(item["split"] for item in load(path))
        assert 0.2 <= splits["validation"] / sum(splits.values()) <= 0.45, (path.name, splits)
    overall = Counter(item["split"] for item in items)
    assert 0.27 <= overall["validation"] / len(items) <= 0.4, overall


def test_the_bank_has_the_promised_spread():
    items = all_items()
    assert len(items) >= 300
    per_file = Counter(item["doc"] if "doc" in item else ACROSS for item in items)
    for report in REPORTS:
        assert per_file[report + ".txt"] >= 100, per_file
    assert per_file[ACROSS] >= 20, per_file
    per_category = Counter(item["category"] for item in items)
    assert all(per_category[c] >= 25 for c in CATEGORIES), per_category


def test_no_bank_question_repeats_a_shared_eval_question():
    if not SHARED_EVAL.is_dir():
        pytest.skip(f"no shared question set at {SHARED_EVAL}")
    shared = [item["q"] for path in SHARED_EVAL.glob("*.jsonl") for item in load(path)]
    assert shared
    close = [(item["id"], item["q"], q) for item in all_items() for q in shared if jaccard(item["q"], q) >= 0.7]
    assert not close


def test_the_near_duplicate_measure_catches_a_light_edit():
    assert jaccard("上半年固定资产投资完成了多少？", "上半年固定资产投资完成多少") >= 0.7
    assert jaccard("丽水机场建到哪一步了", "顺平县的邮政编码是多少") < 0.7


# -- the eval tool's tables -----------------------------------------------------------------------------------

def answer(text: str, refused: bool = False, sources: tuple[str, ...] = ()) -> Answer:
    return Answer(text, refused, text, [Source(n, "doc", "", body, 0, len(body), 0.0)
                                        for n, body in enumerate(sources, 1)])


def fact(split: str, doc: str = "lishui-2024.txt", category: str = "plain") -> dict:
    return {"id": f"{split}-{doc}-{category}", "doc": doc, "category": category, "split": split, "q": "问",
            "markers": ["生产总值"], "groups": [["7.5%"]], "min": 1}


def test_items_without_new_fields_fall_back_to_the_readme_defaults():
    old = {"q": "问", "kind": "multiturn"}
    assert report_of(old) == "district-report-2022-h1"
    assert category_of(old) == "followup" and category_of({"q": "问"}) == "plain"
    assert split_of(old) == "dev"
    assert report_of({"docs": ["a.txt", "b.txt"]}) == ACROSS
    assert report_of({"doc": "lishui-2024.txt"}) == "lishui-2024"


def test_select_split_keeps_the_asked_split_and_treats_unsplit_items_as_dev():
    items = [fact("dev"), fact("validation"), {"q": "无"}]
    assert select_split(items, "all") == items
    assert select_split(items, "validation") == [items[1]]
    assert select_split(items, "dev") == [items[0], items[2]]


def test_breakdown_compares_splits_per_report():
    good = answer("增长7.5%", sources=("全市生产总值1964.44亿元",))
    wrong = answer("增长很快", sources=("别的段落",))
    results = [judge(fact("dev"), good), judge(fact("validation"), wrong),
               judge(fact("dev", "shunping-2024.txt"), good)]
    table = breakdown(results, report_of, ("dev", "validation"), 3)
    assert list(table) == ["lishui-2024", "shunping-2024"]
    assert table["lishui-2024"]["dev"]["accuracy"] == 1.0 and table["lishui-2024"]["dev"]["hit@1"] == 1.0
    assert table["lishui-2024"]["validation"]["accuracy"] == 0.0 and table["lishui-2024"]["validation"]["hit@3"] == 0.0
    assert table["shunping-2024"]["validation"]["n"] == 0 and table["shunping-2024"]["validation"]["accuracy"] is None


def test_breakdowns_cover_reports_categories_and_the_whole_run():
    refuse = {"id": "r", "doc": "lishui-2024.txt", "category": "near-miss", "kind": "refuse", "split": "validation",
              "q": "问", "markers": [], "groups": [], "min": 0}
    results = [judge(fact("dev"), answer("增长7.5%")), judge(refuse, answer("报告中没有找到", refused=True))]
    tables = breakdowns(results, ("dev", "validation"), 3)
    assert set(tables["by_category"]) == {"plain", "near-miss"}
    assert tables["by_category"]["near-miss"]["validation"]["refusal_recall"] == 1.0
    assert tables["overall"]["overall"]["dev"]["n"] == 1 and tables["overall"]["overall"]["validation"]["n"] == 1
    assert tables["overall"]["overall"]["validation"]["refusal_precision"] == 1.0


def test_a_split_left_out_gets_no_rows():
    results = [judge(fact("dev"), answer("增长7.5%")), judge(fact("validation"), answer("增长7.5%"))]
    table = breakdown(results, report_of, ("validation",), 3)
    assert list(table["lishui-2024"]) == ["validation"] and table["lishui-2024"]["validation"]["n"] == 1


def test_formatted_table_puts_a_groups_dev_and_validation_rows_together():
    results = [judge(fact("dev"), answer("增长7.5%", sources=("生产总值",))),
               judge(fact("validation", "shunping-2024.txt"), answer("不知道"))]
    text = format_breakdown("report", breakdown(results, report_of, ("dev", "validation"), 3), 3)
    lines = text.splitlines()
    for column in ("split", "hit@1", "hit@3", "mrr", "accuracy", "refusal_precision", "masked_honesty"):
        assert column in lines[0]
    lishui = next(i for i, line in enumerate(lines) if line.startswith("lishui-2024"))
    assert lines[lishui].split()[1:4] == ["dev", "1", "1.000"]
    assert lines[lishui + 1].split()[:2] == ["validation", "0"]
    assert lines[lishui + 1].split()[2] == "-"
    shunping = lines[lishui + 2]
    assert shunping.startswith("shunping-2024") and shunping.split()[1:3] == ["dev", "0"]
    assert lines[lishui + 3].split()[:2] == ["validation", "1"]


def test_all_three_blocks_are_printed():
    results = [judge(fact("dev"), answer("增长7.5%"))]
    text = format_breakdowns(breakdowns(results, ("dev", "validation"), 3), 3)
    assert [line.split()[0] for line in text.splitlines() if line.endswith("masked_honesty")] == \
        ["report", "category", "all"]
    assert "overall" in text


def test_a_missed_marker_or_a_problem_is_a_failure():
    hit = judge(fact("dev"), answer("增长7.5%", sources=("x", "y", "生产总值")))
    assert hit.rank == 3 and not is_failure(hit, 3) and is_failure(hit, 2)
    assert is_failure(judge(fact("dev"), answer("增长很快", sources=("生产总值",))), 3)


def test_the_cli_rejects_a_missing_file_before_loading_a_model(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main([str(tmp_path / "absent.jsonl")])
    assert stopped.value.code == 2
    assert "absent.jsonl" in capsys.readouterr().err


def test_the_cli_rejects_a_split_with_no_items(tmp_path, capsys):
    questions = tmp_path / "old.jsonl"
    questions.write_text(json.dumps({"id": "a", "q": "问", "markers": [], "groups": [], "min": 0}) + "\n",
                         encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main([str(questions), "--split", "validation"])
    assert stopped.value.code == 2
    assert "no validation items" in capsys.readouterr().err
