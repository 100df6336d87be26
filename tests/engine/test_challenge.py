"""Challenge mode: bare TODO stubs, hints without code, and no learner file overwritten silently."""

from __future__ import annotations

from pathlib import Path

import pytest
from authoring_helpers import invoke, new_course

from retreat.course import Course
from retreat.learner.challenge import challenge_hints
from retreat.markers import make_stub

STUB = "exercises/1_basics/01_word_count.py"


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return new_course(tmp_path, monkeypatch)


def test_challenge_stub_keeps_the_contract_not_the_steps() -> None:
    sol = ('def f(x):\n    """Twice x."""\n    ### TODO: double it,\n    ### by adding x to itself.\n'
           "    return x + x\n    ### END\n")
    stub = make_stub(sol, challenge=True)
    assert stub == 'def f(x):\n    """Twice x."""\n    # TODO\n    raise NotImplementedError\n', stub
    assert "double it" in make_stub(sol), "the guided stub keeps the steps"


def test_hints_with_code_at_the_end_are_withheld() -> None:
    hints = ("Think about the maximum.", "Subtract `x.amax()`.", "It is $m + \\log \\sum e^{x-m}$.")
    assert challenge_hints(hints) == ["Think about the maximum."]
    assert challenge_hints(("Use `Counter`.", "Then sort.")) == ["Use `Counter`.", "Then sort."], \
        "only the trailing hints with code go"
    assert challenge_hints(("`a`", "`b`")) == ["`a`"], "the first hint is always shown"


def test_switching_rewrites_untouched_stubs_only(course: Path) -> None:
    r = invoke("challenge", "on")
    assert r.exit_code == 0 and "challenge mode is on" in r.output, r.output
    assert "challenge: true" in (course / "my-roadmap.yaml").read_text()
    text = (course / STUB).read_text()
    assert "    # TODO\n" in text and "    # TODO: " not in text, "the untouched stub is the challenge stub"
    (course / STUB).write_text(text + "\n# my work\n")
    r = invoke("challenge", "off")
    assert "keep your text" in r.output, r.output
    assert (course / STUB).read_text().endswith("# my work\n"), "an edited file is never overwritten"
    r = invoke("challenge", "on")
    (course / STUB).write_text((course / STUB).read_text() + "# more\n")
    r = invoke("reset", "word-count")
    assert r.exit_code == 0 and "your version is in" in r.output, r.output
    assert "    # TODO: " not in (course / STUB).read_text(), "reset writes the challenge stub"
    backups = list((course.parent / "state" / "backups").glob("*.py"))
    assert backups and backups[0].read_text().endswith("# more\n"), "the learner's version is kept"


def test_hint_command_in_challenge_mode(course: Path) -> None:
    invoke("challenge", "on")
    outputs = [invoke("hint", "word-count").output for _ in range(3)]
    assert all("re.findall" not in o and "Counter" not in o for o in outputs), outputs
    hints = Course(course).exercise("word-count").hints
    available = len(challenge_hints(hints))
    assert available < len(hints), "the fixture's exercise has a hint challenge mode withholds"
    assert f"Hint 1/{available}" in outputs[0], f"the total counts only the hints offered: {outputs[0]}"
