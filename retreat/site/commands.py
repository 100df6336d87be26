"""`retreat docs build` and `retreat docs serve`: MkDocs, driven in-process on the course's
mkdocs.yml, with its failures turned into one line (a RetreatError), never a traceback."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retreat.course import Course
from retreat.errors import RetreatError

CONFIG = "mkdocs.yml"


class SiteError(RetreatError):
    """The site could not be built or served."""


class _Collect(logging.Handler):
    """Keeps MkDocs' warnings and errors, to name the first one in the error message."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _mkdocs_env(course: Course) -> Iterator[_Collect]:
    """Quiet MkDocs' own banners and collect its warnings (shown as they come, too)."""
    saved = {k: os.environ.get(k) for k in ("NO_MKDOCS_2_WARNING", "DISABLE_MKDOCS_2_WARNING")}
    os.environ["NO_MKDOCS_2_WARNING"] = "1"
    os.environ["DISABLE_MKDOCS_2_WARNING"] = "true"
    logger = logging.getLogger("mkdocs")
    collect = _Collect()
    logger.addHandler(collect)
    added_stream = None
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, _Collect)
               for h in logger.handlers):
        added_stream = logging.StreamHandler()
        added_stream.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
        added_stream.setLevel(logging.WARNING)
        logger.addHandler(added_stream)
    try:
        yield collect
    finally:
        logger.removeHandler(collect)
        if added_stream is not None:
            logger.removeHandler(added_stream)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _config_file(course: Course) -> Path:
    path = course.root / CONFIG
    if not path.is_file():
        raise SiteError(f"no {CONFIG} in {course.root}: this course has no notes site")
    return path


def _first(records: list[logging.LogRecord]) -> str:
    """': <the first problem>' (and how many more), in one line."""
    messages = [r.getMessage().strip().splitlines()[0] for r in records if r.getMessage().strip()]
    if not messages:
        return ""
    first, rest = messages[0], messages[1:]
    if first.endswith(":") and rest:  # "Error reading page 'x.md':" is followed by the cause
        first, rest = f"{first} {rest[0]}", rest[1:]
    more = f" (and {len(rest)} more)" if rest else ""
    return f": {first}{more}"


def build_site(course: Course, *, strict: bool = True, site_dir: Path | None = None) -> Path:
    """Build the static site into `site_dir` (default: site/ in the course) and return it.

    With `strict`, any warning (a dead link, a missing anchor, a page outside the nav...) fails
    the build, as in CI.
    """
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError, MkDocsException, PluginError

    config_file = _config_file(course)
    out = Path(site_dir).resolve() if site_dir else course.root / "site"
    with _mkdocs_env(course) as collect:
        try:
            config = load_config(config_file=str(config_file), strict=strict, site_dir=str(out))
            build(config)
        except (Abort, ConfigurationError, PluginError) as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if not detail or detail.startswith("Aborted"):
                raise SiteError(f"the site did not build{_first(collect.records)}") from None
            raise SiteError(f"the site did not build: {detail}") from None
        except MkDocsException as exc:
            raise SiteError(f"the site did not build: {exc}") from None
        except OSError as exc:
            raise SiteError(f"the site did not build: {exc}") from None
    return out


def serve_site(course: Course, *, dev_addr: str = "127.0.0.1:8000", open_browser: bool = False) -> None:
    """Serve the site with live reload until interrupted; notes, guides and roadmap.yaml are
    watched (mkdocs.yml's `watch:`), so edits show up at once."""
    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import Abort, ConfigurationError, MkDocsException

    config_file = _config_file(course)
    with _mkdocs_env(course):
        try:
            serve(config_file=str(config_file), livereload=True, open_in_browser=open_browser,
                  dev_addr=dev_addr)
        except (Abort, ConfigurationError) as exc:
            raise SiteError(f"the site could not be served: {str(exc).strip() or type(exc).__name__}") from None
        except MkDocsException as exc:
            raise SiteError(f"the site could not be served: {exc}") from None
        except OSError as exc:  # e.g. the address is in use
            raise SiteError(f"could not serve on {dev_addr}: {exc.strerror or exc}") from None
