"""Count down from n to zero."""


def countdown(n: int) -> list[int]:
    """Return [n, n-1, ..., 0]."""
    # TODO: count down to zero.
    raise NotImplementedError
