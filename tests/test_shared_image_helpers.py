"""The build helpers compose/shared/ gives the ConnextCMS and Listing-Manager images: fetch-pinned.sh,
apply-patches.js and preload.js, run here against a local git repository and temporary files."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from app_images import SHARED, assert_strict_executable_shell, base_env, node
from tools import require, run

pytestmark = pytest.mark.tools


def test_fetch_pinned_is_strict_executable_shell() -> None:
    assert_strict_executable_shell(SHARED / "fetch-pinned.sh")


@pytest.fixture
def git_fixture(tmp_path: Path) -> tuple[Path, str, str]:
    git = require("git")
    repo = tmp_path / "upstream"
    repo.mkdir()
    env = base_env() | {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "HOME": str(tmp_path),
    }

    def g(*args: str) -> str:
        result = run([git, "-C", str(repo), *args], env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    g("init", "-q", "-b", "master")
    g("config", "uploadpack.allowReachableSHA1InWant", "true")
    (repo / "file.txt").write_text("one\n")
    g("add", "file.txt")
    g("commit", "-q", "-m", "one")
    first = g("rev-parse", "HEAD")
    (repo / "file.txt").write_text("two\n")
    g("commit", "-q", "-am", "two")
    second = g("rev-parse", "HEAD")
    return repo, first, second


def fetch_pinned(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    require("git")
    return run(["sh", str(SHARED / "fetch-pinned.sh"), *args], env=base_env() | {"HOME": str(home)})


def test_fetch_pinned_checks_out_exactly_the_pinned_commit(git_fixture: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, first, _second = git_fixture
    dest = tmp_path / "src"
    result = fetch_pinned(f"file://{repo}", first, str(dest), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (dest / "file.txt").read_text() == "one\n", "must be the pinned commit, not the branch head"
    assert not (dest / ".git").exists()


@pytest.mark.parametrize("commit", ["master", "abc123", "G" * 40, "A" * 40, ""])
def test_fetch_pinned_refuses_names_and_short_ids(
    commit: str, git_fixture: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _first, _second = git_fixture
    result = fetch_pinned(f"file://{repo}", commit, str(tmp_path / "src"), home=tmp_path)
    assert result.returncode == 2
    assert not (tmp_path / "src").exists()


def test_fetch_pinned_fails_on_unknown_commit(git_fixture: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, _first, _second = git_fixture
    result = fetch_pinned(f"file://{repo}", "0" * 40, str(tmp_path / "src"), home=tmp_path)
    assert result.returncode != 0


def write_spec(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps(entries))
    return path


def test_apply_patches_replaces_exact_counts(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("var host = 'old:4002'; var again = 'old:4002';\nvar user = 'u';\n")
    spec = write_spec(
        tmp_path / "spec.json",
        [
            {"file": "a.js", "find": "'old:4002'", "replace": "env.OB", "count": 2, "why": "x"},
            {"file": "a.js", "find": "var user = 'u';", "replace": "var user = env.U;", "count": 1, "why": "y"},
        ],
    )
    result = node(str(SHARED / "apply-patches.js"), str(spec), str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.js").read_text() == "var host = env.OB; var again = env.OB;\nvar user = env.U;\n"


@pytest.mark.parametrize(
    "entry",
    [
        {"file": "a.js", "find": "'old:4002'", "replace": "x", "count": 1, "why": "count differs"},
        {"file": "a.js", "find": "absent", "replace": "x", "count": 1, "why": "anchor gone"},
        {"file": "missing.js", "find": "a", "replace": "x", "count": 1, "why": "no file"},
        {"file": "a.js", "find": "'old:4002'", "replace": "x", "count": 2},
    ],
    ids=["count", "anchor", "file", "no-why"],
)
def test_apply_patches_fails_without_touching_files(entry: dict[str, object], tmp_path: Path) -> None:
    original = "var host = 'old:4002'; var again = 'old:4002';\n"
    (tmp_path / "a.js").write_text(original)
    good = {"file": "a.js", "find": "var host", "replace": "let host", "count": 1, "why": "ok"}
    spec = write_spec(tmp_path / "spec.json", [good, entry])
    result = node(str(SHARED / "apply-patches.js"), str(spec), str(tmp_path))
    assert result.returncode == 1
    assert "patches not applied" in result.stderr
    assert (tmp_path / "a.js").read_text() == original


def test_preload_exits_promptly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            require("node"),
            "-r",
            str(SHARED / "preload.js"),
            "-e",
            "console.log('up'); setInterval(function () {}, 1000)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=5)
    assert proc.returncode == 0
