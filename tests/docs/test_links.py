"""The documentation's links lead somewhere: every relative link of README.md and docs/ names a file that exists and,
with ``#anchor``, a heading of that file; every benchmark script a page names exists (the changelog names removed
ones on purpose)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", ROOT / "tests" / "data" / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: links and code marks dropped, lower case, punctuation removed, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> Set[str]:
    seen: Dict[str, int] = {}
    out: Set[str] = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            base = anchor(match.group(1))
            out.add(base if base not in seen else f"{base}-{seen[base]}")
            seen[base] = seen.get(base, 0) + 1
    return out


def broken_links(page: Path) -> List[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    problems = []
    for target in LINK.findall(text) + IMAGE.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http:, https:, mailto:
        path_part, _, fragment = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            problems.append(f"{target}: no heading #{fragment} in {resolved.name}")
    return problems


def test_anchor_rules():
    assert anchor("Accounts (`python -m console users`)") == "accounts-python--m-console-users"
    assert anchor("Late replies: the outbox") == "late-replies-the-outbox"
    assert anchor("Scale-out (`endpoints.prod.yml`, docs/operations.md)") == "scale-out-endpointsprodyml-docsoperationsmd"
    assert anchor("4. Same-day delivery (当日达)") == "4-same-day-delivery-当日达"


def test_a_broken_link_is_found(tmp_path: Path):
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Title\n\n## Real heading\n", encoding="utf-8")
    page.write_text("[a](other.md#real-heading) [b](other.md#gone) [c](missing.md) [d](https://x.example)\n"
                    "```\n[e](inside-a-fence.md)\n```\n", encoding="utf-8")
    assert broken_links(page) == ["other.md#gone: no heading #gone in other.md", "missing.md: no such file"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "benchmarks-changelog.md"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_named_benchmark_scripts_exist(page: Path):
    names = set(re.findall(r"benchmarks/([A-Za-z0-9_]+\.py)", page.read_text(encoding="utf-8")))
    assert sorted(n for n in names if not (ROOT / "benchmarks" / n).exists()) == []


#: Build output, not in the repository until ``make widget`` runs.
GENERATED = ("webchat/dist/",)
CODE_PATH = re.compile(r"`((?:tests|benchmarks|actions|bot|console|kernel|knowledge_base|launcher|deploy|webchat|"
                       r"requirements)/[A-Za-z0-9_./-]*)`")


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "benchmarks-changelog.md"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_named_code_paths_exist(page: Path):
    """A page that names a file or folder of the repository (in code marks) names one that exists: when code moves,
    the pages move with it."""
    paths = set(CODE_PATH.findall(page.read_text(encoding="utf-8")))
    missing = sorted(p for p in paths if not p.startswith(GENERATED) and not (ROOT / p.split("::")[0]).exists())
    assert missing == []
