import retreat

ex = retreat.load_exercise("spin")


def test_counts_down_to_zero():
    assert ex.countdown(3) == [3, 2, 1, 0], "countdown(3) should be [3, 2, 1, 0]"
