"""The ``report-qa`` command of the installed project: ``serve`` the web app, ``index`` the reports
(as ``python -m index``), ``ask`` one question (as ``python -m bot ask``)."""
from __future__ import annotations

import argparse
import sys


def _serve(args: list[str]) -> int:
    from web.serve import main

    return main(args)


def _index(args: list[str]) -> int:
    from index.__main__ import main

    return main(args)


def _ask(args: list[str]) -> int:
    from bot.__main__ import main

    return main(["ask", *args])


_COMMANDS = {"serve": _serve, "index": _index, "ask": _ask}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="report-qa", description="工作报告问答",
                                     epilog="各命令加 --help 查看说明，例如 report-qa serve --help")
    parser.add_argument("command", choices=list(_COMMANDS), help="serve：网页和接口；index：管理索引；ask：提一个问题")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    parsed = parser.parse_args(argv)
    return _COMMANDS[parsed.command](parsed.args)


if __name__ == "__main__":
    sys.exit(main())
