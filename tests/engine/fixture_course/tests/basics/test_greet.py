import retreat

ex = retreat.load_exercise("greet")


def test_greets_by_name():
    assert ex.greet("ada") == "hello, ada", f"greet('ada') returned {ex.greet('ada')!r}, expected 'hello, ada'"
