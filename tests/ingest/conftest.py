"""Fixtures of the ingestion tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def remove_tree(root: Path) -> None:
    """Delete a folder tree without recursion (``shutil.rmtree`` recurses once per level)."""
    stack = [root]
    while stack:
        folder = stack[-1]
        os.chmod(folder, 0o700)  # a test may have locked it
        with os.scandir(folder) as entries:
            subfolders = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        if subfolders:
            stack.extend(subfolders)
            continue
        with os.scandir(folder) as entries:
            for entry in entries:
                os.unlink(entry.path)
        os.rmdir(folder)
        stack.pop()


@pytest.fixture
def nested_folders() -> Iterator[Callable[[Path, int], Path]]:
    """``make(top, depth)``: ``top`` with ``depth`` nested folders "d"; returns the deepest.

    The tree is removed after the test: pytest's clean-up of old temporary folders uses
    ``shutil.rmtree``, which would hit the recursion limit on it in a later run.
    """
    made: list[Path] = []

    def make(top: Path, depth: int) -> Path:
        top.mkdir()
        made.append(top)
        folder = top
        for _ in range(depth):
            folder = folder / "d"
            folder.mkdir()
        return folder

    yield make
    for top in made:
        if top.exists():
            remove_tree(top)
