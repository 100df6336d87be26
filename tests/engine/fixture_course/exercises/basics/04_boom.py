"""Square a number."""


def square(x: int) -> int:
    """Return x squared."""
    # TODO: multiply x by itself.
    raise NotImplementedError
