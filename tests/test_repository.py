"""The repository governs itself: nothing git should ignore is committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def test_no_tracked_file_matches_gitignore(repo: Path) -> None:
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--ignored", "--exclude-standard"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.splitlines() == [], "tracked files that .gitignore excludes"
