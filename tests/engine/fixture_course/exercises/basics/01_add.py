"""Add two numbers."""


def add(a: int, b: int) -> int:
    """Return a + b."""
    # TODO: return the sum of a and b.
    raise NotImplementedError
