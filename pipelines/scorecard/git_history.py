"""When a source file was added, promoted to production and last changed, from git history.

Commit times are committer times: when the change landed on the branch, which is when the
request was granted. Renames are followed, so moving a file does not restart its clock; a copy
(`sourcegate new` from a template, `cp a.yaml b.yaml`) starts it: the file was added then.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class FileHistory:
    """The file's git milestones (Unix times), or a note saying why they are unknown."""

    added_at: float | None = None
    promoted_at: float | None = None
    changed_at: float | None = None
    note: str = ""


def file_history(path: Path) -> FileHistory:
    """Milestones of ``path`` in the git repository that holds it."""
    path = path.resolve()
    top = _git(path.parent, "rev-parse", "--show-toplevel")
    if top is None:
        return FileHistory(note="the sources folder is not in a git repository")
    log = _git(
        path.parent,
        "log",
        "--follow",
        # a merged pull request counts from its merge: the branch's own commits are skipped
        "--first-parent",
        "--diff-merges=first-parent",
        "--format=%x00%H %ct",
        "--name-status",
        "--",
        path.name,
    )
    if log is None:
        return FileHistory(note="git could not read the file's history")
    commits = _commits(log)
    if not commits:
        return FileHistory(note="the file is not committed yet")
    promoted_at = None
    for sha, committed, name in reversed(commits):  # oldest first
        if _stage_at(Path(top.strip()), sha, name) == "production":
            promoted_at = committed
            break
    note = "" if _committed_as_is(path) else "the file has changes that are not committed"
    return FileHistory(
        added_at=commits[-1][1], promoted_at=promoted_at, changed_at=commits[0][1], note=note
    )


def _commits(log: str) -> list[tuple[str, float, str]]:
    """(sha, commit time, the file's path in that commit), newest first, back to the commit
    that added the file. `--follow` also follows copies: a copy is where the file began."""
    commits = []
    for block in log.split("\x00")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) < 2:
            continue
        sha, committed = lines[0].split()
        status, *paths = lines[-1].split("\t")
        commits.append((sha, float(committed), paths[-1]))
        if status.startswith(("A", "C")):
            break
    return commits


def _stage_at(top: Path, sha: str, name: str) -> str | None:
    text = _git(top, "show", f"{sha}:{name}")
    try:
        document = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return None
    return document.get("stage") if isinstance(document, dict) else None


def _committed_as_is(path: Path) -> bool:
    return _git(path.parent, "status", "--porcelain", "--", path.name) == ""


def _git(where: Path, *args: str) -> str | None:
    """``git ARGS`` run in ``where``; its output, or None when git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotePath=false", *args],
            cwd=where,
            capture_output=True,
            encoding="utf-8",
            errors="replace",  # an old revision may not be UTF-8; it then parses as no stage
            check=False,
        )
    except OSError:
        return None
    return done.stdout if done.returncode == 0 else None
