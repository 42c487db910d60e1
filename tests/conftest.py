import copy
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_config() -> dict:
    """The demo config as shipped, safe to modify."""
    return copy.deepcopy(yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text()))
