"""Checks for context-extension."""

import pytest
import torch

import retreat
from retreat.testing import assert_close

ex = retreat.load_exercise("context-extension")


def default_inv_freq(D, base):
    return base ** (-2.0 * torch.arange(D // 2, dtype=torch.float64) / D)


def test_shape_and_dtype():
    f = ex.scaled_inv_freq(64, 10000.0, 2.0, "linear")
    assert tuple(f.shape) == (32,), "scaled_inv_freq(64, ...) returns 32 frequencies"
    assert f.dtype == torch.float32, "the frequencies are float32"


def test_factor_one_gives_the_default_frequencies():
    for kind in ["linear", "dynamic"]:
        for D, base in [(64, 10000.0), (16, 500000.0)]:
            assert_close(ex.scaled_inv_freq(D, base, 1.0, kind).double(), default_inv_freq(D, base),
                         f"factor 1 gives base**(-2i/D) ({kind}, D={D}, base={base:g})",
                         rtol=1e-5, atol=0.0)


def test_linear_divides_every_frequency_by_the_factor():
    D, base = 32, 10000.0
    for s in [2.0, 4.0, 8.0]:
        assert_close(ex.scaled_inv_freq(D, base, s, "linear").double(), default_inv_freq(D, base) / s,
                     f"linear scaling with factor {s} divides every frequency by {s}",
                     rtol=1e-5, atol=0.0)


def test_linear_maps_long_positions_into_the_trained_range():
    # Position Interpolation: position s*m with scaled frequencies has the angles of position m.
    D, base, s = 32, 10000.0, 4.0
    m = torch.arange(0, 2048, 97, dtype=torch.float64)
    scaled = (s * m)[:, None] * ex.scaled_inv_freq(D, base, s, "linear").double()
    original = m[:, None] * default_inv_freq(D, base)
    assert_close(scaled, original,
                 "with linear factor s, position s*m gets exactly the angles of position m",
                 rtol=1e-5, atol=1e-6)


def test_dynamic_matches_the_ntk_closed_form():
    for D, base, s in [(64, 10000.0, 2.0), (128, 10000.0, 8.0), (16, 500000.0, 3.0)]:
        ntk_base = base * s ** (D / (D - 2))
        assert_close(ex.scaled_inv_freq(D, base, s, "dynamic").double(), default_inv_freq(D, ntk_base),
                     f"dynamic uses base' = base * s**(D/(D-2)) (D={D}, s={s})", rtol=1e-4, atol=0.0)


def test_dynamic_keeps_the_fastest_pair():
    for s in [2.0, 16.0]:
        f = ex.scaled_inv_freq(64, 10000.0, s, "dynamic")
        assert abs(float(f[0]) - 1.0) < 1e-6, \
            f"dynamic scaling leaves theta_0 = 1 (the fastest pair) unchanged, factor {s}"


def test_dynamic_slows_the_slowest_pair_by_exactly_the_factor():
    D, base = 64, 10000.0
    for s in [2.0, 16.0]:
        dyn = ex.scaled_inv_freq(D, base, s, "dynamic").double()
        assert_close(dyn[-1], default_inv_freq(D, base)[-1] / s,
                     f"dynamic scaling divides the slowest frequency by exactly the factor {s}, "
                     "like linear interpolation", rtol=1e-4, atol=0.0)


def test_dynamic_compresses_slow_pairs_more_than_fast_ones():
    D, base, s = 64, 10000.0, 4.0
    ratio = ex.scaled_inv_freq(D, base, s, "dynamic").double() / default_inv_freq(D, base)
    expected = s ** (-2.0 * torch.arange(D // 2, dtype=torch.float64) / (D - 2))
    assert_close(ratio, expected, "pair i is slowed by s**(2i/(D-2)): from 1 for i=0 to s for the last",
                 rtol=1e-4, atol=0.0)


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError):
        ex.scaled_inv_freq(64, 10000.0, 2.0, "yarn")


def test_dynamic_scale():
    assert ex.dynamic_scale(100, 4096, 2.0) == 1.0, "dynamic scale is 1 for sequences shorter than trained"
    assert ex.dynamic_scale(4096, 4096, 2.0) == 1.0, "dynamic scale is 1 at exactly the trained length"
    assert abs(ex.dynamic_scale(8192, 4096, 2.0) - 3.0) < 1e-9, \
        "dynamic scale is f*T/L - (f-1): 2 * 8192/4096 - 1 = 3"
    assert abs(ex.dynamic_scale(6144, 4096, 4.0) - 3.0) < 1e-9, "dynamic scale: 4 * 1.5 - 3 = 3"
