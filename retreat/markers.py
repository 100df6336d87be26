"""The `###` marker grammar of solution files, parsed here and nowhere else: the stub a learner
starts from is derived from its solution, so the two can never drift apart.

In a solution file, the lines the learner must write sit between two markers:

    ### TODO: subtract the row maximum, exponentiate, then normalise.
    shifted = x - x.amax(dim=dim, keepdim=True)
    ...
    ### END

The stub keeps everything else and replaces each block with the TODO comment and
`raise NotImplementedError`. Further `### ` lines right after the TODO line continue its text.
`### STUB: <code>` inside the header replaces the `raise` (for a body that must return something).
The same grammar gives the solution as a learner reads it (`clean_solution`) and the lines a
learner writes (`learner_lines`, which the site keeps off its pages).
"""

from __future__ import annotations

import re

from retreat.errors import UsageProblem

_BEGIN = re.compile(r"^(?P<indent>\s*)### TODO:(?P<text>.*)$")
_MORE = re.compile(r"^\s*### (?!END\b|TODO:)(?P<text>.*)$")
_END = re.compile(r"^\s*### END\s*$")
_MARKER = re.compile(r"^\s*### ")


class StubError(UsageProblem):
    pass


def make_stub(solution_text: str, source: str = "solution", *, challenge: bool = False) -> str:
    """The stub for a solution: each `### TODO:` ... `### END` block becomes a TODO and a raise.

    With `challenge`, the TODO's step-by-step text is left out: a bare `# TODO` (challenge mode)."""
    out: list[str] = []
    lines = solution_text.splitlines()
    i, blocks = 0, 0
    while i < len(lines):
        m = _BEGIN.match(lines[i])
        if _END.match(lines[i]):
            raise StubError(f"{source}:{i + 1}: '### END' without a '### TODO:' before it")
        if not m:
            out.append(lines[i])
            i += 1
            continue
        start, indent = i, m["indent"]
        todo, stub_code = [m["text"].strip()], []
        i += 1
        while i < len(lines) and (more := _MORE.match(lines[i])):
            text = more["text"]
            if text.startswith("STUB:"):
                stub_code.append(text[len("STUB:"):].strip())
            else:
                todo.append(text.strip())
            i += 1
        while i < len(lines) and not _END.match(lines[i]):
            if _BEGIN.match(lines[i]):
                raise StubError(f"{source}:{i + 1}: '### TODO:' inside the block opened at line {start + 1}")
            i += 1
        if i == len(lines):
            raise StubError(f"{source}:{start + 1}: '### TODO:' block has no '### END'")
        if challenge:
            out.append(f"{indent}# TODO")
        else:
            out.append(f"{indent}# TODO: {todo[0]}")
            out.extend(f"{indent}#       {t}" for t in todo[1:])
        out.extend(f"{indent}{c}" for c in stub_code) if stub_code else out.append(
            f"{indent}raise NotImplementedError")
        blocks += 1
        i += 1
    if not blocks:
        raise StubError(f"{source}: no '### TODO:' ... '### END' block, so the stub would be the solution")
    return "\n".join(out) + "\n"


def clean_solution(solution_text: str) -> str:
    """The solution as a learner reads it: the `###` marker lines removed."""
    keep = [ln for ln in solution_text.splitlines()
            if not (_BEGIN.match(ln) or _END.match(ln) or _MORE.match(ln))]
    return "\n".join(keep) + "\n"


def learner_lines(solution_text: str) -> list[str]:
    """The lines inside the `### TODO:` ... `### END` blocks (the marker lines left out): what the
    learner writes."""
    out: list[str] = []
    inside = False
    for line in solution_text.splitlines():
        if _BEGIN.match(line):
            inside = True
        elif _END.match(line):
            inside = False
        elif inside and not _MARKER.match(line):
            out.append(line)
    return out
