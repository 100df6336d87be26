"""`retreat dev check` proves a course sound and names what is not."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from retreat.cli import main
from retreat.markers import StubError, clean_solution, make_stub


def dev(*args: str):
    return CliRunner().invoke(main, ["dev", *args])


def test_fixture_course_is_sound(course_dir: Path) -> None:
    r = dev("check", "add", "greet", "boom")
    assert r.exit_code == 0, r.output
    assert "✓ add" in r.output and "mutants caught 2/2" in r.output


def test_uncaught_mutant_is_reported(course_dir: Path) -> None:
    mutants = course_dir / "solutions/basics/01_add.mutants.yaml"
    mutants.write_text(mutants.read_text() + "  - name: commuted\n    why: same thing\n"
                       "    edits: [{old: 'return a + b', new: 'return b + a'}]\n")
    r = dev("check", "add")
    assert r.exit_code == 1 and "mutant commuted passes every test" in r.output


def test_stub_drift_stray_files_and_missing_hints(course_dir: Path) -> None:
    (course_dir / "exercises/basics/02_greet.py").write_text("def greet(name):\n    return 'hi'\n")
    (course_dir / "exercises/basics/notes.txt").write_text("scratch")
    text = (course_dir / "roadmap.yaml").read_text()
    (course_dir / "roadmap.yaml").write_text(text.replace('hints: ["x times x", "return x * x"]', 'hints: ["x"]'))
    r = dev("check")
    assert r.exit_code == 1
    assert "differs from the stub generated" in r.output
    assert "stray file: exercises/basics/notes.txt" in r.output
    assert "boom has 1 hints" in r.output
    assert dev("stubs", "greet").exit_code == 0
    assert "def greet(name: str) -> str:" in (course_dir / "exercises/basics/02_greet.py").read_text()


def test_make_stub_replaces_blocks_and_keeps_the_rest() -> None:
    solution = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### TODO: double x.\n"
        "    ###       Use multiplication.\n"
        "    y = x * 2\n"
        "    return y\n"
        "    ### END\n"
        "\n"
        "class M:\n"
        "    def __init__(self):\n"
        "        ### TODO: set up.\n"
        "        ### STUB: self.ready = False\n"
        "        self.ready = True\n"
        "        ### END\n"
    )
    stub = make_stub(solution)
    assert "# TODO: double x." in stub and "#       Use multiplication." in stub
    assert "raise NotImplementedError" in stub and "y = x * 2" not in stub
    assert "self.ready = False" in stub and "self.ready = True" not in stub
    assert '"""Doc."""' in stub
    assert "###" not in clean_solution(solution) and "y = x * 2" in clean_solution(solution)


def test_unbalanced_markers_are_errors() -> None:
    for bad in ("x = 1\n", "### TODO: a\nx = 1\n", "x = 1\n### END\n", "### TODO: a\n### TODO: b\n### END\n"):
        try:
            make_stub(bad, "s.py")
        except StubError as exc:
            assert str(exc).startswith("s.py")
        else:
            raise AssertionError(f"no error for {bad!r}")
