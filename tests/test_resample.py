"""The resampler: the same samples however the input is cut, in time, flat in the band the
features read, no aliases."""

import numpy as np
import pytest

from emoreco.audio.resample import StreamResampler, resample


def _tone(rate: int, hz: float, seconds: float = 2.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate)).astype(
        np.float32)


def _gain_db(rate: int, hz: float) -> float:
    out = resample(_tone(rate, hz), rate, 12000)[3000:-3000]  # away from the edges
    return 20 * np.log10(np.sqrt(2) * out.std() / 0.5 + 1e-12)


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
@pytest.mark.parametrize("sizes", [[1, 7, 441], [997], [10**7]])
def test_the_output_does_not_depend_on_the_pieces(rate, sizes):
    samples = np.random.default_rng(3).normal(0, 0.1, rate * 7).astype(np.float32)
    resampler, parts, start, turn = StreamResampler(rate, 12000), [], 0, 0
    while start < len(samples):
        parts.append(resampler.push(samples[start:start + sizes[turn % len(sizes)]]))
        start, turn = start + sizes[turn % len(sizes)], turn + 1
    parts.append(resampler.finish())
    whole = resample(samples, rate, 12000)  # in pieces of 2**18 samples: 2 or more here
    assert len(whole) == 84000
    np.testing.assert_array_equal(np.concatenate(parts)[:len(whole)], whole)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_flat_below_4_5_khz_and_no_alias_from_6_khz_up(rate):
    # Golden figures measured with filter_size=32, cutoff=0.91: 0.00 dB at 0.1-4.5 kHz,
    # -0.67 dB at 5 kHz, aliases at -91 dB or lower; tolerances leave room for another
    # CPU's rounding only.
    for hz in (100.0, 1000.0, 4000.0, 4500.0):
        assert abs(_gain_db(rate, hz)) < 0.01, hz
    assert abs(_gain_db(rate, 5000.0) + 0.67) < 0.05
    for hz in (6000.0, 6500.0, 7000.0, 9000.0, 15000.0):
        assert _gain_db(rate, hz) < -88, hz


@pytest.mark.parametrize("rate", [44100, 48000, 8000])
def test_no_delay_and_exact_length(rate):
    impulse = np.zeros(rate, np.float32)
    impulse[rate // 2] = 1.0
    out = resample(impulse, rate, 12000)
    assert len(out) == 12000
    assert np.argmax(np.abs(out)) == 6000


def test_the_same_rate_is_a_copy():
    samples = np.arange(5, dtype=np.float32)
    out = resample(samples, 12000, 12000)
    np.testing.assert_array_equal(out, samples)
    assert out is not samples
