"""Every relative link in the repository's Markdown leads somewhere: the file exists and, for
``file.md#anchor`` or ``#anchor``, a heading of that file makes that anchor (GitHub's rule)."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
# [text](target) and ![alt](target), the target up to whitespace or ")"; reference-style
# definitions ([name]: target) too.
INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def markdown_files() -> list[Path]:
    """The repository's *.md files that git knows (tracked or new, not ignored)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                          "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted(ROOT / line for line in out.stdout.splitlines() if (ROOT / line).is_file())


def links(text: str) -> list[str]:
    """The link targets of ``text``, outside code blocks and code spans."""
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    return INLINE.findall(text) + DEFINITION.findall(text)


@cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors GitHub makes for the headings of ``path`` (lower case, punctuation dropped,
    spaces to hyphens, -1, -2... for repeats)."""
    seen: dict[str, int] = {}
    out = set()
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.MULTILINE):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    out.update(re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text))
    return frozenset(out)


def broken_links(md: Path, root: Path = ROOT) -> list[str]:
    """Why each relative link of ``md`` (a file under ``root``) is broken."""
    problems = []
    for target in links(md.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        dest = (md.parent / unquote(path_part)).resolve() if path_part else md
        if not dest.exists():
            problems.append(f"{target}: {dest} does not exist")
            continue
        if not dest.is_relative_to(root):
            problems.append(f"{target}: points outside the repository")
        elif anchor and dest.suffix == ".md" and anchor.lower() not in anchors(dest):
            problems.append(f"{target}: no heading makes #{anchor} in {dest.relative_to(root)}")
    return problems


def test_the_checker_finds_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("# Several nodes\n## Limits\n## Limits\n", encoding="utf-8")
    md = tmp_path / "a.md"
    md.write_text("[ok](b.md#several-nodes) [ok](b.md#limits-1) ![img](b.md) [web](https://x)\n"
                  "`[not a link](nowhere.md)`\n```\n[nor](this.md)\n```\n"
                  "[gone](c.md) [bad anchor](b.md#nope)\n[ref]: missing.md\n",
                  encoding="utf-8")
    found = broken_links(md, root=tmp_path)
    assert [p.split(":")[0] for p in found] == ["c.md", "b.md#nope", "missing.md"]


@pytest.mark.parametrize("md", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_somewhere(md: Path) -> None:
    assert broken_links(md) == []
