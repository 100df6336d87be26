"""`retreat docs build` and `retreat docs serve`: the notes site (MkDocs Material)."""

from __future__ import annotations

from pathlib import Path

import click

from retreat.course import Course


@click.group("docs")
def docs() -> None:
    """Build or serve the notes site: roadmap, exercises, notes and your progress."""


@docs.command("build")
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: site/ in the course).")
@click.option("--no-strict", is_flag=True, help="Do not fail on warnings.")
def docs_build(site_dir: Path | None, no_strict: bool) -> None:
    """Build the static site (strict: any warning fails)."""
    from retreat.site.commands import build_site

    out = build_site(Course.find(), strict=not no_strict, site_dir=site_dir)
    click.echo(f"site written to {out} (open {out / 'index.html'})")


@docs.command("serve")
@click.option("--dev-addr", default="127.0.0.1:8000", show_default=True, help="Address to serve on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the site in a browser.")
def docs_serve(dev_addr: str, open_browser: bool) -> None:
    """Serve the site with live reload; edits to notes and roadmap.yaml show up at once."""
    from retreat.site.commands import serve_site

    serve_site(Course.find(), dev_addr=dev_addr, open_browser=open_browser)
