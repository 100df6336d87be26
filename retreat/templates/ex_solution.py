"""CHANGE ME: the contract of $title, in the learner's words (the stub keeps this docstring).

`sum_of_squares(values)`: the sum of the squares of a list of integers; 0 for an empty list.

Write the solution here. The lines between `### TODO:` and `### END` are what the learner writes;
`retreat dev stubs $item_id` makes the stub. Then adapt the test and the mutants beside it.
"""


def sum_of_squares(values: list[int]) -> int:
    """The sum of v * v over `values` (0 for an empty list)."""
    ### TODO: square each value and add the squares up.
    return sum(v * v for v in values)
    ### END
