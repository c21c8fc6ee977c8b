"""The committed generated code matches the .proto files (`make proto` after editing)."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "protocol" / "netclode_protocol" / "v1"


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "gen-proto.sh"), str(tmp_path)], check=True)
    fresh = tmp_path / "netclode_protocol" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.is_file())
    assert names == sorted(
        p.name for p in GENERATED.iterdir() if p.is_file() and p.suffix != ".pyc"
    )
    stale = [n for n in names if not filecmp.cmp(fresh / n, GENERATED / n, shallow=False)]
    assert not stale, f"regenerate with `make proto`: {stale} differ from protocol/proto"
