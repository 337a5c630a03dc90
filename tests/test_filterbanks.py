"""The numpy feature front end equals librosa's (the reference implementation)."""

import numpy as np
import pytest

from conftest import sine_clip
from emoreco.core.config import FeatureParams
from emoreco.audio.features import compute_song_features
from emoreco.audio.filterbanks import centred_hann, chroma_filterbank, mel_filterbank

librosa = pytest.importorskip("librosa")


@pytest.mark.parametrize("sample_rate, n_fft, n_mels", [(12000, 512, 96), (22050, 2048, 128),
                                                        (16000, 400, 40)])
def test_mel_filterbank_is_librosas(sample_rate, n_fft, n_mels):
    expected = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    np.testing.assert_allclose(mel_filterbank(sample_rate, n_fft, n_mels), expected,
                               rtol=0, atol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("sample_rate, n_fft, tuning", [(12000, 2048, 0.0), (22050, 4096, -0.3),
                                                        (12000, 1024, 0.25)])
def test_chroma_filterbank_is_librosas(sample_rate, n_fft, tuning):
    expected = librosa.filters.chroma(sr=sample_rate, n_fft=n_fft, tuning=tuning)
    np.testing.assert_allclose(chroma_filterbank(sample_rate, n_fft, tuning), expected,
                               rtol=0, atol=1e-7)


def test_window_is_scipys():
    from scipy.signal import get_window

    np.testing.assert_allclose(centred_hann(256, 512)[128:384], get_window("hann", 256),
                               atol=1e-15)
    assert not centred_hann(256, 512)[:128].any()


def _librosa_features(samples, params):
    """The feature definition of the original implementation, with librosa, and the dB
    floor following the loudest band so far (librosa's own follows the song's loudest);
    chroma frames end at their time instead of being centred on it: librosa's centred
    frames of the audio delayed by half a chroma frame."""
    power = np.abs(librosa.stft(samples, n_fft=params.n_fft, hop_length=params.hop_length,
                                win_length=params.win_length, center=True)) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=params.sample_rate, n_fft=params.n_fft,
                                         n_mels=params.n_mels)
    decibels = librosa.power_to_db(mel, top_db=None)
    loudest = np.maximum.accumulate(decibels.max(axis=0))
    decibels = np.maximum(decibels, loudest - 80.0)
    mfcc = librosa.feature.mfcc(S=decibels, n_mfcc=params.n_mfcc)
    delayed = np.pad(samples, (params.chroma_n_fft // 2, 0))
    chroma = librosa.feature.chroma_stft(y=delayed, sr=params.sample_rate,
                                         n_fft=params.chroma_n_fft,
                                         hop_length=params.hop_length, center=True,
                                         tuning=params.chroma_tuning)
    return mfcc, chroma[:, :mfcc.shape[1]]


@pytest.mark.slow
def test_song_features_equal_librosas_on_a_rich_signal():
    rng = np.random.default_rng(1)
    partials = tuple((float(f), float(a)) for f, a in zip(rng.uniform(80, 4000, 12),
                                                           rng.uniform(0.01, 0.2, 12)))
    samples = sine_clip(20.0, partials=partials) + 0.01 * rng.normal(size=240000).astype(
        np.float32)
    samples[100000:130000] *= 0.001  # a quiet passage: the 80 dB floor must match too
    samples[:30000] *= 0.0001  # a quiet start, before the loudest part: the floor is causal
    params = FeatureParams()
    ours = compute_song_features(samples, params)
    mfcc, chroma = _librosa_features(samples, params)
    assert ours.mfcc.shape == mfcc.shape and ours.chroma.shape == chroma.shape
    # dB values up to about 500: float32 summation order differs, so 1e-3 dB absolute
    np.testing.assert_allclose(ours.mfcc, mfcc, rtol=0, atol=1e-3)
    np.testing.assert_allclose(ours.chroma, chroma, rtol=0, atol=1e-5)


def test_block_boundaries_change_nothing():
    from emoreco.audio.features import FrameSpan, power_spectrogram_blocks

    samples = sine_clip(12.0, partials=((220.0, 0.3), (1234.0, 0.1)))
    span = FrameSpan(before=2048, after=0, needed=0)
    whole = list(power_spectrogram_blocks(samples, 2048, 2048, 250, span, block_frames=10**6))
    blocks = list(power_spectrogram_blocks(samples, 2048, 2048, 250, span, block_frames=37))
    assert len(whole) == 1 and len(blocks) == -(-whole[0].shape[0] // 37)
    np.testing.assert_array_equal(whole[0], np.concatenate(blocks, axis=0))
    assert whole[0].shape == (1 + len(samples) // 250, 1025)
