"""The README and docs/: every relative link leads to a file of this repository, and the README stays
something a newcomer reads in five minutes (its details live in docs/, one page each)."""

import re

from tests.conftest import ROOT

LINK = re.compile(r"\]\(([^)#]+)(?:#[^)]*)?\)")


def test_every_relative_link_of_the_readme_and_the_docs_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "workloads" / "PROTOCOL.md"]
    broken = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page in pages
        for target in LINK.findall(page.read_text())
        if not target.startswith(("http://", "https://")) and not (page.parent / target).exists()
    ]
    assert not broken, broken


def test_the_readme_is_short_and_points_to_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.split()) < 1500, "the README grew past a five-minute read: move the details to docs/"
    for page in (ROOT / "docs").glob("*.md"):
        assert f"docs/{page.name}" in readme, f"the README does not link docs/{page.name}"
