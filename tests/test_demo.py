import json
from dataclasses import replace

import numpy as np
import soundfile

from emoreco.data.annotations import load_dynamic_annotations, load_static_annotations
from emoreco.data.layout import OFFICIAL_STATIC, locate_deam
from emoreco.data.demo import curve_at, plan_songs, synthesize


def test_demo_corpus_is_written_in_deams_exact_format(tiny_deam):
    csv = locate_deam(tiny_deam).annotation_csv("arousal")
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("song_id,sample_15000ms,sample_15500ms,")
    assert lines[0].endswith("sample_74500ms")  # 75-s full songs set the width
    clip_row = lines[1].split(",")
    assert len(clip_row) == 1 + 120 and clip_row[60] != "" and clip_row[61:] == [""] * 60
    series = load_dynamic_annotations(csv)
    assert sorted(len(s.values) for s in series.values()) == [60] * 6 + [120] * 2
    assert sorted(series)[-2:] == [2001, 2002]
    static = load_static_annotations(tiny_deam / OFFICIAL_STATIC /
                                     "static_annotations_averaged_songs_2000_2058.csv")
    assert list(static.index) == [2001, 2002] and "valence_max_mean" in static.columns
    info = soundfile.info(sorted((tiny_deam / "MEMD_audio").glob("*.mp3"))[0])
    assert info.samplerate == 44100 and abs(info.duration - 45.0) < 0.1
    truth = json.loads((tiny_deam / "demo_truth.json").read_text())
    assert truth["arousal_rmse_floor"] == np.float64(0.1) / np.sqrt(3)
    assert len(truth["test_songs"]) == 4


def test_label_noise_has_the_stated_standard_deviation(tiny_deam):
    songs = {s.song_id: s for s in plan_songs(6, 2, seed=3)}  # the fixture's plan
    series = load_dynamic_annotations(locate_deam(tiny_deam).annotation_csv("valence"))
    residuals = np.concatenate([s.values - curve_at(songs[i].valence, s.times_s)
                                for i, s in series.items()])
    assert abs(residuals.mean()) < 0.02 and 0.085 < residuals.std() < 0.115  # 600 draws


def test_arousal_is_audible_as_loudness():
    song = plan_songs(1, 0, seed=1, clip_s=20.0)[0]
    calm, excited = (replace(song, arousal=np.full_like(song.arousal, level))
                     for level in (-0.7, 0.7))
    rms = [np.sqrt(np.mean(synthesize(s) ** 2)) for s in (calm, excited)]
    assert rms[1] > 4 * rms[0]
