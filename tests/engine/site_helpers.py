"""A copy of the site fixture course wired to the repository's real mkdocs.yml, docs pages and
assets, so the site tests build exactly what a learner builds, on a small known roadmap."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "site_course"
HOOKS = REPO / "retreat" / "site" / "hooks.py"


def make_site_course(dest: Path) -> Path:
    """The fixture course plus the repository's mkdocs.yml (hooks path made absolute) and the
    hand-written pages and assets under docs/ (home, guides, stylesheets, vendored JS)."""
    shutil.copytree(FIXTURE, dest)
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    config, n = re.subn(r"^(\s*-\s*)retreat/site/hooks\.py\s*$", rf"\g<1>{HOOKS.as_posix()}", config,
                        flags=re.M)
    assert n == 1, "mkdocs.yml names retreat/site/hooks.py under hooks:"
    (dest / "mkdocs.yml").write_text(config, encoding="utf-8")
    docs = dest / "docs"
    shutil.copy(REPO / "docs" / "index.md", docs / "index.md")
    for folder in ("guide", "stylesheets", "assets"):
        shutil.copytree(REPO / "docs" / folder, docs / folder)
    return dest


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) and not (tag == "link" and a.get("rel") in ("canonical",)):
                self.links.append(a[key])


def dead_links(site: Path) -> list[str]:
    """Every relative href/src in the built HTML whose target file (or #anchor) is missing."""
    pages: dict[Path, _Links] = {}
    for html in site.rglob("*.html"):
        if html.name == "404.html":  # served for any path, so its links are absolute on purpose
            continue
        parser = _Links()
        parser.feed(html.read_text(encoding="utf-8"))
        pages[html] = parser
    dead = []
    for html, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:", "javascript:")):
                continue
            if parts.path.startswith("/"):
                dead.append(f"{html.relative_to(site)}: {link} (absolute)")
                continue
            target = html if not parts.path else (html.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                dead.append(f"{html.relative_to(site)}: {link}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else set()
                if parts.fragment not in ids:
                    dead.append(f"{html.relative_to(site)}: {link} (no such anchor)")
    return dead
