"""The warm side of grading: what the grading server (server.py) does in its own process before a
check, and what a check's child does between the server's fork and pytest.

Before the first check the server imports torch, pytest, every pytest plugin a run registers and
our own, and then freezes its heap (`gc.freeze`): a child's garbage collections (pytest runs
several at the end) then skip the server's objects and copy none of its pages. It prepares
pytest's configuration once per set of plugin options (the plugins imported and registered) and
caches the rewritten test modules on disk by content, so a child only parses its arguments,
imports the course's files and runs the tests. Nothing runs a tensor operation before a fork
(thread pools do not survive one), and no course file is imported in the server, so every check
imports the learner's file afresh.

The fork leads a new session; its standard output and error go to a pipe the server drains, and
it closes every other descriptor it inherited (the server's socket, a client's connection, other
checks' pipes), so the graded code cannot reach the channel its verdict travels on. It then
becomes the check's supervisor through child.supervise_fork, exactly as a cold check's is: the
check runs in a fork of it with a safe path, its own session, the memory and CPU limits and death
with its parent, and the supervisor enforces the time limit and kills every descendant.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import io
import marshal
import os
import signal
import sys
import threading
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from retreat.grading.child import supervise_fork

# torch.distributed.tensor is what the first torch.testing.assert_close call pulls in (seconds of imports);
# the rest is what a check's child imported when it was not preloaded (pytest's plugins, the forbidden-call
# guard, the ini reader, junitxml's XML, the debugger and line editor pytest's debugging plugin brings).
# A check then imports only the course's own modules: its test module, conftest, support, the graded file.
PRELOAD = ("torch", "torch.nn", "torch.nn.functional", "torch.testing", "torch.distributed.tensor", "numpy",
           "pytest", "_pytest.python", "_pytest.config", "retreat.testing", "retreat.grading.plugin",
           "retreat.grading.forbid", "retreat.loader", "retreat.course", "tomllib", "xml.etree.ElementTree",
           "faulthandler", "pdb", "readline")


class WorkerDied(RuntimeError):
    """The process that runs checks went away, or answered with something that is not an answer;
    the check it was running cannot be trusted (runner.py turns this into a failing verdict)."""


class Warm(Protocol):
    """A warm process that runs pytest in a forked child (the grading server's client, client.py)."""

    def run(self, args: list[str], env: dict[str, str], cwd: Path,
            timeout: float) -> tuple[int | None, bool, str]:
        """Run pytest with `args`; return (exit code or None, timed out, output tail). Raises WorkerDied."""
        ...


def preload(cache_dir: Path | None = None) -> None:
    """Import everything a check needs, prepare the rewrite cache, and freeze the heap (in the server)."""
    sys.dont_write_bytecode = True  # no __pycache__ beside the learner's files
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import sysconfig

    import _pytest.config

    sysconfig.get_paths()  # loads the platform's _sysconfigdata, which a check's safe sys.path reads
    for plugin in _pytest.config.default_plugins:
        try:
            importlib.import_module(f"_pytest.{plugin}")
        except ImportError:
            pass
    if cache_dir is not None:
        _cache_rewrites(cache_dir)
    gc.collect()
    gc.freeze()


# -- pytest's configuration, prepared once ---------------------------------------------------------

_templates: dict[tuple[str, ...], Any] = {}
_template_lock = threading.Lock()


def _plugin_options(args: list[str]) -> tuple[str, ...]:
    """The `-p` options of a pytest command line: all that a prepared configuration depends on."""
    return tuple(args[i + 1] for i, a in enumerate(args[:-1]) if a == "-p")


def prepare_pytest(args: list[str]) -> None:
    """Build, in the server, pytest's configuration for this set of `-p` options, with pytest's own
    plugins and ours registered, for every later child to start from (each gets its own copy)."""
    key = _plugin_options(args)
    if key in _templates:
        return
    with _template_lock:
        if key in _templates:
            return
        try:
            import _pytest.config as pc

            config = pc.get_config(list(args), prog="pytest.main()")
            for name in key:
                if not name.startswith("no:"):
                    config.pluginmanager.consider_pluginarg(name)
        except Exception:  # an optional speed-up: a child then builds its own
            return
        _templates[key] = config
        gc.freeze()


def _use_prepared(args: list[str]) -> None:
    """In a child: make pytest.main start from the prepared configuration, once, if there is one."""
    template = _templates.get(_plugin_options(args))
    if template is None:
        return
    import _pytest.config as pc

    original = pc.get_config

    def get_config(args_: Any = None, plugins: Any = None, **kw: Any) -> Any:
        pc.get_config = original
        if list(args_ or ()) != list(args) or plugins:
            return original(args_, plugins, **kw)
        # The one thing the prepared configuration does not know yet: where pytest was started.
        template.invocation_params = pc.Config.InvocationParams(args=args_, plugins=plugins, dir=Path.cwd())
        return template

    pc.get_config = get_config


# -- rewritten test modules, cached by content --------------------------------------------------

def _cache_rewrites(cache_dir: Path) -> None:
    """Keep pytest's assertion rewriting of a test module in `cache_dir`, keyed by the module's
    bytes, path and the pytest and Python versions; the learner's files are not rewritten, and
    a key made of the content cannot go stale within a second as an mtime can."""
    try:
        from _pytest.assertion import rewrite
    except ImportError:
        return
    original = getattr(rewrite, "_rewrite_test", None)
    if original is None or getattr(original, "_retreat_cached", False):
        return
    import importlib.util

    import pytest

    tag = f"{pytest.__version__}|{importlib.util.MAGIC_NUMBER.hex()}".encode()

    def cached(fn: Path, config: Any) -> tuple[os.stat_result, types.CodeType]:
        try:
            source = Path(fn).read_bytes()
            flag = str(config.getini("enable_assertion_pass_hook")).encode()
        except Exception:
            return original(fn, config)
        key = hashlib.sha256(b"\0".join((tag, flag, str(fn).encode(), source))).hexdigest()
        entry = cache_dir / f"{key}.code"
        try:
            code = marshal.loads(entry.read_bytes())
            if isinstance(code, types.CodeType):
                return os.stat(fn), code
        except (OSError, ValueError, EOFError, TypeError):
            pass
        stat, code = original(fn, config)
        try:
            if Path(fn).read_bytes() == source:  # not edited while pytest read it
                tmp = entry.with_name(f".{key}.{os.getpid()}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as out:
                    out.write(marshal.dumps(code))
                os.replace(tmp, entry)
        except OSError:
            pass
        return stat, code

    cached._retreat_cached = True  # type: ignore[attr-defined]
    rewrite._rewrite_test = cached


def prune_cache(cache_dir: Path, keep: int = 400) -> None:
    """Drop the oldest cached rewrites beyond `keep` (each edit of a test module adds one)."""
    try:
        entries = sorted(cache_dir.glob("*.code"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for old in entries[:-keep]:
        old.unlink(missing_ok=True)


# -- the child ------------------------------------------------------------------------------

STATUS_FD = 3  # where a check's supervisor writes its status line, in the fork
inherited_modules: frozenset[str] = frozenset()
"""In a check forked from the server: the modules it found imported (what the server preloaded)."""


def fork_check(args: list[str], env: dict[str, str], cwd: str, timeout: float, limits: dict[int, int],
               out_fd: int, status_fd: int, detach: Iterable[Any] = ()) -> int:
    """Fork the supervisor of one check (child.supervise_fork, as a cold check has): it runs pytest
    with `args` in `cwd` under `env` in a fork of its own, within `timeout` and `limits`, output on
    `out_fd`, and writes its status line on `status_fd`. Returns the supervisor's pid. `detach` are
    the server's socket objects: the fork lets go of them before it closes their descriptors."""
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        try:
            _enter(env, cwd, out_fd, status_fd, detach)
            _use_prepared(args)
            supervise_fork(lambda: _pytest_main(args), timeout, limits, STATUS_FD, parent)
        finally:  # never back into the server
            os._exit(70)
    return pid


def _enter(env: dict[str, str], cwd: str, out_fd: int, status_fd: int, detach: Iterable[Any]) -> None:
    """The fork's first steps: its own session, standard streams on the output pipe, the status
    pipe on STATUS_FD, and nothing else open; then the job's environment and folder."""
    global inherited_modules
    inherited_modules = frozenset(sys.modules)
    os.setsid()
    for sock in detach:
        sock.detach()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.dup2(status_fd, STATUS_FD)
    # The graded code cannot write to the server's socket, a client's connection or another
    # check's pipes: only 0-2 and the status pipe (which the check itself closes) stay open.
    os.closerange(STATUS_FD + 1, _max_fd())
    # Fresh stream objects: the server's may have been locked by another thread at the fork.
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = sys.__stdout__ = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
    sys.stderr = sys.__stderr__ = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.argv = ["pytest"]


def _pytest_main(args: list[str]) -> int:
    import pytest

    sys.argv = ["pytest", *args]
    return int(pytest.main(args))


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (ValueError, OSError):
        return 4096
