import retreat

ex = retreat.load_exercise("add")


def test_adds_small_numbers():
    assert ex.add(2, 3) == 5, "add(2, 3) should be 5"


def test_adds_negatives():
    assert ex.add(-2, -3) == -5, "add(-2, -3) should be -5"
