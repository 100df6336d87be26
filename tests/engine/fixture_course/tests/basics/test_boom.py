import retreat

ex = retreat.load_exercise("boom")


def test_squares():
    assert ex.square(7) == 49, "square(7) should be 49"
