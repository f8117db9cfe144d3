"""Dependencies point one way: app → realtime → staffing; adapters → the event format only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"app", "realtime", "staffing", "adapters", "floorboard"}
ALLOWED = {
    "staffing": {"staffing"},
    "adapters": {"adapters", "floorboard.events", "floorboard.backoff"},
    # The CSV import formats, like the event format, are an interface every layer may parse;
    # the retry rule is shared by adapters and webhooks.
    "realtime": {"realtime", "staffing", "floorboard.config", "floorboard.events", "floorboard.imports",
                 "floorboard.backoff"},
    "app": {"app", "realtime", "staffing", "floorboard.config", "floorboard.imports"},
}


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return {m for m in out if m.split(".")[0] in OURS}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_dependency_direction(package):
    bad = {}
    for path in (ROOT / package).rglob("*.py"):
        wrong = {m for m in imports(path) if not any(m == a or m.startswith(a + ".") for a in ALLOWED[package])}
        if wrong:
            bad[str(path.relative_to(ROOT))] = sorted(wrong)
    assert not bad


def test_only_realtime_names_redis_and_only_config_reads_the_environment():
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in OURS:
            continue
        text = path.read_text(encoding="utf-8")
        if rel.parts[0] != "realtime" and rel.as_posix() != "floorboard/commands.py":
            assert "import redis" not in text and "from redis" not in text, rel
        if rel.as_posix() != "floorboard/config.py":
            assert "os.environ" not in text and "os.getenv" not in text, rel
