"""Where the tests find real data: `data/` (what `mss_pose data NAME` makes on a user's machine) first, else
`../shared/data` (this project's local copy, which our tests and CI use). Tests that need it skip with the reason."""
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared' / 'data'
LSPET = next((p for p in (ROOT / 'data' / 'lspet', SHARED / 'lspet') if (p / 'joints.mat').is_file()), None)
need_lspet = pytest.mark.skipif(LSPET is None, reason=f"full LSPET not found: run `mss_pose data lspet` (data/lspet), or provide {SHARED / 'lspet'}")
