from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.model import Site

from .factories import Clock, Store, make_site


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def site() -> Site:
    return make_site()
