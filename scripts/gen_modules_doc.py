#!/usr/bin/env python3
"""Regenerate the generated blocks of docs/modules.md from the modules' declarations.

    python scripts/gen_modules_doc.py          # rewrite docs/modules.md
    python scripts/gen_modules_doc.py --check  # exit 1 when docs/modules.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from pypeline.modules.reference import render_document

DOC = Path(__file__).resolve().parents[1] / "docs" / "modules.md"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    rendered = render_document(text)
    if "--check" in argv:
        if rendered != text:
            print(f"{DOC} is out of date: run python scripts/gen_modules_doc.py", file=sys.stderr)
            return 1
        return 0
    if rendered != text:
        DOC.write_text(rendered, encoding="utf-8")
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
