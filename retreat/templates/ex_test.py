"""CHANGE ME: the checks for $item_id. They run unchanged against the stub (fail), the solution
(pass) and each mutant (fail); every assert names the property it checks."""

import retreat

ex = retreat.load_exercise("$item_id")


def test_sums_the_squares():
    got = ex.sum_of_squares([1, 2, 3])
    assert got == 14, f"sum_of_squares([1, 2, 3]) is 1 + 4 + 9 = 14; got {got}"


def test_negative_values_square_to_positive():
    got = ex.sum_of_squares([-2, 2])
    assert got == 8, f"a negative value's square counts positive; got {got}"


def test_empty_list_is_zero():
    got = ex.sum_of_squares([])
    assert got == 0, f"the sum over no values is 0; got {got}"
