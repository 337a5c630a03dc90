"""emoreco playlist: regions of the plane, flow orders, M3U8 files a player opens."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from emoreco.core.errors import ConfigError
from emoreco.outputs.playlists import (LibrarySong, flow_cost, flow_order, in_region,
                                       m3u8_text, mood_point, parse_range)


def song(name: str, start: tuple[float, float], end: tuple[float, float],
         mean: tuple[float, float] | None = None) -> LibrarySong:
    """A song from (valence, arousal) points of its start, end and mean."""
    mean = mean or ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    values = {}
    for statistic, (valence, arousal) in (("start", start), ("end", end), ("mean", mean)):
        values[("valence", statistic)] = valence
        values[("arousal", statistic)] = arousal
    return LibrarySong(Path(name), values, 30.0)


def chain(n: int, seed: int = 0) -> list[LibrarySong]:
    """n songs where song k ends exactly where song k+1 starts, shuffled."""
    rng = random.Random(seed)
    points = [(rng.uniform(-1, 1), rng.uniform(-1, 1)) for _ in range(n + 1)]
    songs = [song(f"s{k:02d}", points[k], points[k + 1]) for k in range(n)]
    rng.shuffle(songs)
    return songs


def test_flow_finds_a_chain_whose_songs_join_exactly():
    songs = chain(12)
    order = flow_order(songs)
    assert flow_cost(songs, order) == pytest.approx(0.0, abs=1e-9)
    assert [songs[i].path.name for i in order] == [f"s{k:02d}" for k in range(12)]


def test_flow_beats_random_and_sorted_orders_and_honours_first_and_moods():
    rng = random.Random(4)
    songs = [song(f"x{k}", (rng.uniform(-1, 1), rng.uniform(-1, 1)),
                  (rng.uniform(-1, 1), rng.uniform(-1, 1))) for k in range(40)]
    flow = flow_cost(songs, flow_order(songs))
    randoms = [flow_cost(songs, rng.sample(range(40), 40)) for _ in range(50)]
    by_arousal = sorted(range(40), key=lambda i: songs[i].values[("arousal", "mean")])
    assert flow < 0.5 * min(randoms) and flow < 0.5 * flow_cost(songs, by_arousal)
    assert flow_order(songs, first=7)[0] == 7
    calm, happy = mood_point("calm"), mood_point("energetic")
    order = flow_order(songs, calm, happy)
    assert flow_cost(songs, order, calm, happy) <= flow_cost(songs, flow_order(songs), calm,
                                                             happy) + 1e-9
    assert songs[order[0]].values[("arousal", "start")] < 0  # begins calm...
    assert songs[order[-1]].values[("arousal", "end")] > 0  # ...ends energetic


def test_regions_ranges_and_moods():
    happy = song("h", (0.5, 0.5), (0.5, 0.5))
    sad = song("s", (-0.5, -0.5), (-0.5, -0.5))
    assert in_region(happy, {}, "excited") and not in_region(sad, {}, "happy")
    assert in_region(sad, {"arousal": parse_range(":0")}, "depressed")
    assert not in_region(sad, {"valence": parse_range("-0.4:1")})
    assert parse_range("0.2:") == (0.2, 1.0)
    for bad in ("x", "0.5", "1:0", "nan:1", "0:inf"):
        with pytest.raises(ConfigError, match="not a range"):
            parse_range(bad)
    with pytest.raises(ConfigError, match="unknown mood 'grumpy'"):
        mood_point("grumpy")


def test_m3u8_paths_are_relative_utf8_and_unsafe_names_refused(tmp_path):
    music = tmp_path / "Music" / "Ünïcødé album"
    music.mkdir(parents=True)
    track = music / "Señor — song.flac"
    track.write_bytes(b"")
    text = m3u8_text([track], tmp_path / "lists" / "mine.m3u8", ["Señor"], [61.6])
    assert text.splitlines() == ["#EXTM3U", "#EXTENC:UTF-8", "#EXTINF:62,Señor",
                                 "../Music/Ünïcødé album/Señor — song.flac"]
    with pytest.raises(ConfigError, match="line break"):
        m3u8_text([music / "a\nb.flac"], tmp_path / "p.m3u8", ["a"], [None])
    with pytest.raises(ConfigError, match="not UTF-8"):
        m3u8_text([Path(b"/m/bad\xff.flac".decode("utf-8", "surrogateescape"))],
                  tmp_path / "p.m3u8", ["bad"], [None])


def parse_m3u(playlist: Path) -> list[Path]:
    """The entries of an M3U file as a player reads them: lines that are not comments,
    relative to the playlist's folder."""
    lines = playlist.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    return [(playlist.parent / line).resolve() for line in lines
            if line and not line.startswith("#")]


@pytest.mark.slow
def test_tagged_folder_to_playlists_that_open(trained_models, tmp_path):
    import av

    pytest.importorskip("mutagen")
    from test_tags import _write

    music = tmp_path / "Música"
    music.mkdir()
    for name in ("Ünïcødé one.flac", "two.mp3", "three.m4a", "four.wav"):
        _write(music / name)
    (music / "untagged.ogg").write_bytes((music / "Ünïcødé one.flac").read_bytes()[:0])
    command = [sys.executable, "-m", "emoreco"]
    tagged = subprocess.run([*command, "tag", str(music / "Ünïcødé one.flac"),
                             str(music / "two.mp3"), str(music / "three.m4a"),
                             str(music / "four.wav"), "--jobs", "1", "--quiet",
                             "--allow-demo", "--models-dir", str(trained_models / "models")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert tagged.returncode == 0, tagged.stderr
    out = tmp_path / "lists" / "flow.m3u8"
    made = subprocess.run([*command, "playlist", str(music), "-o", str(out), "--flow",
                           "--from", "calm", "--to", "happy"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    entries = parse_m3u(out)
    assert sorted(p.name for p in entries) == sorted(
        ["Ünïcødé one.flac", "two.mp3", "three.m4a", "four.wav"])
    for entry in entries:  # every entry opens in FFmpeg
        with av.open(str(entry)) as container:
            assert container.streams.audio
    assert "skipped: " in made.stderr and "untagged.ogg" in made.stderr  # empty file
    for bad, message in ((["--first", str(music / "two.mp3")], "add --flow"),
                         (["--quadrant", "grumpy"], "unknown mood"),
                         (["--arousal", "2:3", "--valence", "x"], "not a range")):
        refused = subprocess.run([*command, "playlist", str(music), "-o",
                                  str(tmp_path / "x.m3u8"), *bad],
                                 cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and message in refused.stderr
        assert "Traceback" not in refused.stderr
    assert not (tmp_path / "x.m3u8").exists()


def test_summary_start_end_and_unit_values_of_a_known_curve():
    import numpy as np

    from emoreco.model.curves import EmotionCurve
    from emoreco.outputs.tables import SUMMARY_COLUMNS

    times = np.arange(0, 60, 0.5)  # 120 steps, 0 ... 59.5 s
    arousal = np.where(times < 30, -0.5, 0.5)
    valence = times / 59.5  # 0 ... 1
    valence[:5] = np.nan  # no valence before 2.5 s, as the LSTM's context
    summary = EmotionCurve("x", times, {"arousal": arousal, "valence": valence}).summary()
    assert summary["arousal_start"] == -0.5 and summary["arousal_end"] == 0.5
    # valence's first value is at 2.5 s: its start is the mean over [2.5, 17.5] s
    assert summary["valence_start"] == pytest.approx(10.0 / 59.5)
    assert summary["valence_end"] == pytest.approx((59.5 - 7.5) / 59.5)  # [44.5, 59.5] s
    assert summary["energy_01"] == pytest.approx(0.5)  # arousal mean 0
    assert summary["valence_01"] == pytest.approx((np.nanmean(valence) + 1) / 2)
    assert set(SUMMARY_COLUMNS) == set(summary)
