"""Time from pressing 发送 to the first visible answer text, in Chromium, against a running app.

    python scripts/first_text.py --url http://127.0.0.1:7860 [--questions FILE] [--rounds 1] [--json]

Each question is asked in a new conversation. The clock starts in the page when the send button is
clicked and stops when the new answer's bubble first shows text (a MutationObserver, so the browser's
own rendering is included and the test driver's round trips are not). Prints p50 and p95 in ms.
FILE holds one question per line; by default the questions below, written for the bundled library.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
QUESTIONS = [
    "上半年生态环境做了什么？",
    "下半年在招商引资方面有什么打算？",
    "农村经济发展得怎么样？",
    "疫情防控取得了哪些成效？",
    "党建工作有哪些亮点？",
    "丽水去年经济增长了多少？",
    "丽水今年的主要预期目标是什么？",
    "丽水在山区共同富裕方面做了什么？",
    "丽水机场建设到哪一步了？",
    "顺平县2023年做了哪些民生实事？",
    "顺平今年打算怎么发展农业？",
    "顺平县的营商环境有什么变化？",
    "顺平的教育方面有什么计划？",
    "老年人养老服务方面有什么安排？",
    "旅游业有哪些新举措？",
    "怎么保障群众饮水安全？",
    "交通基础设施建设有哪些项目？",
    "就业方面采取了什么措施？",
    "文化事业方面做了哪些工作？",
    "明年要重点抓好哪些工作？",
]

# Runs in the page: click send, resolve with the ms until the new answer bubble has text.
_TIME_FIRST_TEXT = """(timeoutMs) => new Promise((resolve) => {
  const chat = document.querySelector("#qa-chat");
  const before = chat.querySelectorAll('[data-testid="bot"]').length;
  const started = performance.now();
  const done = (value) => { observer.disconnect(); clearTimeout(timer); resolve(value); };
  const observer = new MutationObserver(() => {
    const answers = chat.querySelectorAll('[data-testid="bot"]');
    if (answers.length > before && answers[answers.length - 1].innerText.trim()) done(performance.now() - started);
  });
  observer.observe(chat, {subtree: true, childList: true, characterData: true});
  const timer = setTimeout(() => done(null), timeoutMs);
  document.querySelector("#qa-send").click();
})"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def wait_until_settled(page, quiet_ms: int = 400, limit_ms: int = 20000) -> None:
    """Until the last answer has stopped changing (the streamed answer is complete)."""
    page.evaluate("""([quiet, limit]) => new Promise((resolve) => {
      const chat = document.querySelector("#qa-chat");
      let timer = setTimeout(finish, quiet);
      const observer = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(finish, quiet); });
      const stop = setTimeout(finish, limit);
      function finish() { observer.disconnect(); clearTimeout(stop); resolve(); }
      observer.observe(chat, {subtree: true, childList: true, characterData: true});
    })""", [quiet_ms, limit_ms])


def measure(url: str, questions: list[str], rounds: int, chromium: str) -> list[dict]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(locale="zh-CN", viewport={"width": 1440, "height": 900})
        page.goto(url.rstrip("/") + "/")
        page.locator("#qa-question textarea").wait_for(timeout=60000)
        for _ in range(rounds):
            for question in questions:
                page.locator("#qa-new-chat").click()
                page.wait_for_function("document.querySelectorAll('#qa-chat [data-testid=\"bot\"]').length === 0")
                page.locator("#qa-question textarea").fill(question)
                elapsed = page.evaluate(_TIME_FIRST_TEXT, 30000)
                wait_until_settled(page)
                results.append({"question": question, "first_text_ms": elapsed})
        browser.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time to the first visible answer text in Chromium.")
    parser.add_argument("--url", default="http://127.0.0.1:7860", help="the running app")
    parser.add_argument("--questions", type=Path, help="one question per line (default: built-in questions)")
    parser.add_argument("--rounds", type=int, default=1, help="how many times to ask each question")
    parser.add_argument("--chromium", default=CHROMIUM, help="the Chromium executable")
    parser.add_argument("--json", action="store_true", help="print every measurement as JSON")
    args = parser.parse_args(argv)
    questions = QUESTIONS
    if args.questions:
        questions = [line.strip() for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = measure(args.url, questions, args.rounds, args.chromium)
    timed = [r["first_text_ms"] for r in results if r["first_text_ms"] is not None]
    if not timed:
        print("no answer text appeared", file=sys.stderr)
        return 1
    summary = {"questions": len(results), "answered": len(timed), "p50_ms": round(statistics.median(timed)),
               "p95_ms": round(percentile(timed, 0.95)), "max_ms": round(max(timed))}
    if args.json:
        print(json.dumps({"summary": summary, "results": results}, ensure_ascii=False, indent=1))
    else:
        for r in results:
            shown = "none" if r["first_text_ms"] is None else f"{r['first_text_ms']:.0f} ms"
            print(f"{shown:>9}  {r['question']}")
        print(f"first visible text over {summary['answered']}/{summary['questions']} questions: "
              f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, max {summary['max_ms']} ms")
    return 0 if len(timed) == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
