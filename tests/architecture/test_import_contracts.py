"""The package map of docs/architecture.md holds: the import contracts pass, and the console reads the knowledge
base only through its API.

``make lint`` runs the same contracts; this test also shows each one can fail, by checking a tree that breaks it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = ("kernel", "bot", "actions", "console", "knowledge_base", "launcher")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed in this environment")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300,
    )


def copy_tree(target: Path) -> Path:
    """The Python packages and pyproject.toml, without data, models or caches."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns(
            "__pycache__", "*.yml", "*.yaml", "*.json", "static", "templates", "data", "responses", "domain"))
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_every_import_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.replace("0 broken", "")


@pytest.mark.parametrize("offender, line, contract", [
    ("actions/server.py", "import launcher.processes  # noqa", "No served process imports the launcher"),
    ("console/live.py", "import bot.channels.rest  # noqa", "The console talks to the bot over HTTP"),
    ("launcher/processes.py", "import console.states  # noqa", "The launcher starts processes, it imports none of them"),
    ("kernel/text.py", "import knowledge_base  # noqa", "The kernel imports nothing else of Kefu"),
    ("knowledge_base/config.py", "import actions.turns  # noqa", "Layers"),
    ("actions/faq.py", "import console.states  # noqa", "Layers"),  # siblings are independent: no cycle
    ("knowledge_base/serving/matcher.py", "import knowledge_base.building.builder  # noqa", "Inside the knowledge base"),
    ("console/unanswered.py", "import knowledge_base.serving.runtime  # noqa", "The console reads the knowledge base only"),
    ("actions/faq.py", "import knowledge_base.building.builder  # noqa", "never builds one"),
])
def test_a_forbidden_edge_breaks_a_contract(tmp_path, offender, line, contract):
    tree = copy_tree(tmp_path / "tree")
    path = tree / offender
    path.write_text(path.read_text() + "\n" + line + "\n")
    result = lint_imports(tree)
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout


KB_TABLES = re.compile(r"\bkb_[a-z_]+|autoload_with|get_table_names|reflect\(")
# The one reflection the console has: the privacy job's view of databases other processes own (Rasa's, the
# notifier's, the outbox), which refuses the knowledge base's tables (tested below).
REFLECTION_HELPER = ("console/privacy/stores.py", "sa.Table(name, sa.MetaData(), autoload_with=self.engine)")


def test_the_console_reads_the_knowledge_base_only_through_its_api():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {text.strip()}"
        for path in sorted((ROOT / "console").rglob("*.py"))
        for number, text in enumerate(path.read_text().splitlines(), 1)
        if KB_TABLES.search(text) and "knowledge_base" not in text
        and not (str(path.relative_to(ROOT)) == REFLECTION_HELPER[0] and REFLECTION_HELPER[1] in text)
    ]
    assert not offenders, "the console guesses knowledge-base tables:\n" + "\n".join(offenders)


def test_the_privacy_jobs_reflection_refuses_knowledge_base_tables(tmp_path):
    from console.privacy.stores import Reflected

    database = Reflected(f"sqlite:///{tmp_path / 'app.db'}")
    with pytest.raises(ValueError, match="knowledge_base.learning"):
        database.table("kb_unanswered")
