"""Greet someone."""


def greet(name: str) -> str:
    """Return 'hello, NAME'."""
    ### TODO: build the greeting.
    return f"hello, {name}"
    ### END
