import os
from pathlib import Path

# torch's OpenMP workers spin while idle; on a busy 2-core machine that makes training
# 20-30x slower. Must be set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("RECEMBED_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real datasets in ../shared/data (never bundled with the package)."""
    if not SHARED_DATA.exists():
        pytest.fail(f"shared datasets not found at {SHARED_DATA}; set RECEMBED_SHARED_DATA")
    return SHARED_DATA
