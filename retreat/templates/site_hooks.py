"""Plugs retreat's pages into this course's MkDocs site (mkdocs.yml names this file). No need to change."""

from retreat.site.hooks import *  # noqa: F401,F403
