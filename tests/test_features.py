import json
from pathlib import Path

import numpy as np
import pytest

from conftest import sine_clip
from emoreco.core.config import FeatureParams
from emoreco.core.errors import ConfigError
from emoreco.audio.features import (align_window_targets, compute_song_features, frame_windows,
                              segment_means, segment_sequences, window_grid)

PARAMS = FeatureParams()
A_AND_E = ((440.0, 0.5), (659.255, 0.25))  # A4 and E5


@pytest.fixture(scope="module")
def clip_features():
    return compute_song_features(sine_clip(16.5, partials=A_AND_E), PARAMS)


def test_frames_carry_their_time_axis(clip_features):
    n_frames = 1 + int(16.5 * 12000) // 250
    assert clip_features.mfcc.shape == (40, n_frames)
    assert clip_features.chroma.shape == (12, n_frames)
    np.testing.assert_allclose(clip_features.frame_times_s[:3], [0.0, 250 / 12000, 500 / 12000])
    assert clip_features.duration_s == pytest.approx(16.5)


GOLDEN = json.loads((Path(__file__).parent / "golden" / "features.json").read_text())


def test_golden_mfcc_values(clip_features):
    # tests/golden/features.json (scripts/regenerate_golden.py) says why 0.05 dB
    np.testing.assert_allclose(clip_features.mfcc[:5, 10:-10].mean(axis=1),
                               GOLDEN["mfcc_mean_0_5"], atol=GOLDEN["tolerance"]["mfcc_mean_0_5"])


def test_golden_chroma_finds_a_and_e(clip_features):
    chroma = clip_features.chroma[:, 10:-10].mean(axis=1)
    np.testing.assert_allclose(chroma, GOLDEN["chroma_mean"],
                               atol=GOLDEN["tolerance"]["chroma_mean"])
    assert np.argmax(chroma) == 9  # A
    assert chroma[4] == pytest.approx(0.2793, abs=0.01)  # E, the quieter partial
    assert chroma[[0, 1, 6, 7, 11]].max() < 0.01


def test_window_grid_first_and_last_window():
    starts = window_grid(15.0, 45.0, 0.5, 1.5)
    assert starts[0] == 15.0 and starts[-1] == 43.5 and len(starts) == 58
    assert len(window_grid(15.0, 16.0, 0.5, 1.5)) == 0
    assert list(window_grid(15.0, 16.5, 0.5, 1.5)) == [15.0]


def test_frame_windows_cut_the_song_matrix_at_the_right_frames():
    matrix = np.tile(np.arange(2200, dtype=np.float32), (3, 1))  # value = frame index
    windows = frame_windows(matrix, np.array([15.0, 15.5]), 72, PARAMS)
    assert windows.shape == (2, 3, 72)
    assert windows[0, 0, 0] == 720 and windows[0, 0, -1] == 791  # 15 s = frame 720
    assert windows[1, 2, 0] == 744  # + 0.5 s = + 24 frames


def test_frame_windows_refuses_windows_past_the_end():
    with pytest.raises(ValueError, match="beyond the audio"):
        frame_windows(np.zeros((3, 100)), np.array([1.0]), 72, PARAMS)


ANNOTATION_TIMES = 15.0 + 0.5 * np.arange(60)  # a 45-s DEAM clip: 15.0 ... 44.5
ANNOTATION_VALUES = np.round(np.linspace(-0.59, 0.59, 60), 2)


def test_alignment_first_window_is_the_mean_of_its_three_annotations():
    targets, keep = align_window_targets(ANNOTATION_TIMES, ANNOTATION_VALUES,
                                         np.array([15.0]), 1.5, 0.5)
    assert keep.tolist() == [True]
    assert targets[0] == pytest.approx(np.mean(ANNOTATION_VALUES[:3]))


def test_alignment_last_window_ends_with_the_last_annotation():
    starts = window_grid(15.0, 45.0, 0.5, 1.5)
    targets, keep = align_window_targets(ANNOTATION_TIMES, ANNOTATION_VALUES, starts, 1.5, 0.5)
    assert keep.all() and len(targets) == 58
    assert targets[-1] == pytest.approx(np.mean(ANNOTATION_VALUES[-3:]))  # 43.5, 44.0, 44.5


def test_alignment_drops_windows_not_fully_covered():
    # annotations end early (last at 20.0 s): [19.0, 20.5) holds 19.0, 19.5, 20.0 and is
    # kept; [19.5, 21.0) lacks 20.5 and [14.5, 16.0) lacks 14.5, so both are dropped
    starts = np.array([14.5, 15.0, 18.5, 19.0, 19.5])
    targets, keep = align_window_targets(ANNOTATION_TIMES[:11], ANNOTATION_VALUES[:11],
                                         starts, 1.5, 0.5)
    assert keep.tolist() == [False, True, True, True, False]
    assert targets[-1] == pytest.approx(np.mean(ANNOTATION_VALUES[8:11]))
    assert targets[1] == pytest.approx(np.mean(ANNOTATION_VALUES[7:10]))  # 18.5, 19.0, 19.5


def test_alignment_refuses_windows_that_are_not_whole_annotation_steps():
    with pytest.raises(ConfigError, match="annotation steps"):
        align_window_targets(ANNOTATION_TIMES, ANNOTATION_VALUES, np.array([15.0]), 1.2, 0.5)


def test_segment_means_and_sequences_end_at_the_target_segment():
    frames = np.repeat(np.arange(10, dtype=np.float32), 24)[None, :]  # segment j == j
    segments = segment_means(np.vstack([frames, -frames]), 24)
    assert segments.shape == (10, 2) and segments[3].tolist() == [3.0, -3.0]
    sequences, keep = segment_sequences(segments, np.array([1.0, 2.5, 4.5, 5.0]), PARAMS)
    # context 6: target at 2.5 s (segment 5) uses segments 0..5; 1.0 s lacks context
    assert keep.tolist() == [False, True, True, False]
    assert sequences.shape == (2, 6, 2)
    assert sequences[0, :, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert sequences[1, -1, 0] == 9


def test_sequence_targets_must_lie_on_the_segment_grid():
    with pytest.raises(ConfigError, match="multiples of segment_s"):
        segment_sequences(np.zeros((10, 12)), np.array([3.2]), PARAMS)


THREADED_FEATURES = """
import sys
import numpy as np
from emoreco.core.config import FeatureParams
from emoreco.audio.features import compute_song_features
rng = np.random.default_rng(7)
t = np.arange(12000 * 30) / 12000
chords = sum(a * np.sin(2 * np.pi * f * t) for f, a in zip(rng.uniform(60, 3000, 20),
                                                          rng.uniform(0.01, 0.1, 20)))
samples = (chords + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
features = compute_song_features(samples, FeatureParams())
np.save(sys.argv[1], np.concatenate([features.mfcc, features.chroma]))
"""


def test_features_are_bit_identical_whatever_the_blas_thread_count(tmp_path):
    import os
    import subprocess
    import sys

    results = []
    for threads in ("1", "2", "3"):
        path = tmp_path / f"threads{threads}.npy"
        environment = os.environ | {name: threads for name in (
            "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        subprocess.run([sys.executable, "-c", THREADED_FEATURES, str(path)], check=True,
                       env=environment, timeout=120)
        results.append(path.read_bytes())
    assert results[0] == results[1] == results[2]
