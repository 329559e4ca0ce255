"""What every benchmark here does last: print its JSON report and, with --out, write it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(report: dict[str, Any], out: Path | None) -> None:
    text = json.dumps(report, indent=2)
    print(text)
    if out:
        out.write_text(text + "\n")
