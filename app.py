"""Serve the report QA bot on the web from a checkout: python app.py [--host H] [--port P] [--root-path /qa]

The same as ``report-qa serve`` (web/serve.py).
"""
import sys

from web.serve import main

if __name__ == "__main__":
    sys.exit(main(prog="python app.py"))
