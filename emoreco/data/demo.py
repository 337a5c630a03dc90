"""Synthetic DEAM-layout demo corpus with known emotion curves.

Each song follows two smooth curves, arousal a(t) and valence v(t) in [-0.8, 0.8], that
drive the music:

* arousal: tempo (70-190 BPM), loudness (-34..-6 dB), brightness (spectral tilt of the
  notes) and the level of a hi-hat;
* valence: harmony. Every chord is a triad whose third is a blend of the major third
  (weight (1 + v) / 2) and the minor third (weight (1 - v) / 2), in a random key per song.

Annotations are written exactly in DEAM's CSV format (2 Hz from 15 s, ``sample_<ms>ms``
columns, shorter songs ending in empty cells) as ``curve(t) + N(0, label_noise_std)``.
A perfect model's RMSE is therefore known: ``label_noise_std / sqrt(3)`` for arousal
(the target averages the 3 annotations in a 1.5 s window) and ``label_noise_std`` for
valence (one annotation per target). These floors are written to ``demo_truth.json``.
Beside them, as in DEAM's archives: per-rater files (5 raters per song, whose mean is
the averaged annotation) and ``metadata/`` files with a genre per song.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from emoreco.audio.resample import resample
from emoreco.data.annotations import AnnotationSeries, write_dynamic_annotations
from emoreco.core.atomic import atomic_path, write_json
from emoreco.core.deam import ANNOTATION_START_S, ANNOTATION_STEP_S, CLIP_IDS, FULL_SONG_IDS
from emoreco.data.layout import OFFICIAL_AUDIO, OFFICIAL_DYNAMIC, OFFICIAL_STATIC
from emoreco.data.raters import METADATA, RATER_DYNAMIC

RENDER_RATE = 44100
CURVE_LIMIT = 0.8
PROGRESSION = (0, 5, 7, 9, 2, 7, 0, 5)  # chord roots in semitones above the key (I IV V VI II)
WAVETABLE_SIZE = 4096
CONTROL_RATE = 100  # Hz, sampling rate of the emotion curves


@dataclass(frozen=True)
class DemoSong:
    """Plan of one synthetic song: its curves at 100 Hz and its rendering choices."""

    song_id: int
    duration_s: float
    arousal: np.ndarray  # shape (n_control,), at CONTROL_RATE
    valence: np.ndarray
    key: int
    seed: int


def smooth_curve(rng: np.random.Generator, duration_s: float) -> np.ndarray:
    """A slowly varying curve at ``CONTROL_RATE`` Hz, shape (duration_s * 100 + 1,).

    A random level plus two sinusoids with periods of 8-40 s, clipped to +-0.8.
    """
    t = np.arange(int(duration_s * CONTROL_RATE) + 1) / CONTROL_RATE
    curve = np.full_like(t, rng.uniform(-0.55, 0.55))
    for _ in range(2):
        period = rng.uniform(8.0, 40.0)
        curve += rng.uniform(0.08, 0.25) * np.sin(2 * np.pi * t / period + rng.uniform(0, 6.3))
    return np.clip(curve, -CURVE_LIMIT, CURVE_LIMIT)


def curve_at(curve: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Linear interpolation of a control-rate curve at ``times_s`` (shape preserved)."""
    grid = np.arange(len(curve)) / CONTROL_RATE
    return np.interp(times_s, grid, curve)


def _wavetable(tilt: float) -> np.ndarray:
    """One period of a harmonic tone whose k-th harmonic has amplitude k**-tilt."""
    phase = np.arange(WAVETABLE_SIZE) / WAVETABLE_SIZE
    harmonics = np.arange(1, 11)
    table = (harmonics[:, None] ** -tilt * np.sin(2 * np.pi * harmonics[:, None] * phase)).sum(0)
    return table / np.abs(table).max()


def _add_note(out: np.ndarray, onset: int, frequency: float, amplitude: float,
              table: np.ndarray, decay_s: float) -> None:
    length = min(len(out) - onset, int(4 * decay_s * RENDER_RATE))
    if length <= 0 or frequency * 10 >= RENDER_RATE / 2:
        return
    n = np.arange(length)
    index = (n * (frequency * WAVETABLE_SIZE / RENDER_RATE)).astype(np.int64) % WAVETABLE_SIZE
    attack = np.minimum(1.0, n / (0.005 * RENDER_RATE))
    out[onset:onset + length] += amplitude * table[index] * attack * np.exp(
        -n / (decay_s * RENDER_RATE))


def synthesize(song: DemoSong) -> np.ndarray:
    """Render a song at 44.1 kHz, shape (n_samples,), float32 in [-1, 1]."""
    rng = np.random.default_rng(song.seed)
    out = np.zeros(int(song.duration_s * RENDER_RATE))
    hat = np.zeros_like(out)
    time_s, beat = 0.0, 0
    while time_s < song.duration_s:
        arousal = float(curve_at(song.arousal, np.array([time_s]))[0])
        valence = float(curve_at(song.valence, np.array([time_s]))[0])
        beat_s = 60.0 / (130.0 + 60.0 * arousal)
        gain = 10 ** ((-20.0 + 14.0 * arousal) / 20.0)
        table = _wavetable(tilt=2.2 - 1.4 * arousal)
        onset = int(time_s * RENDER_RATE)
        root = 48 + song.key + PROGRESSION[(beat // 2) % len(PROGRESSION)]
        chord = [(root, 1.0), (root + 3, (1 - valence) / 2), (root + 4, (1 + valence) / 2),
                 (root + 7, 0.9), (root - 12, 0.8)]
        for midi, weight in chord:
            frequency = 440.0 * 2 ** ((midi - 69) / 12)
            _add_note(out, onset, frequency, gain * weight * 0.25, table, decay_s=0.35)
        burst = min(len(hat) - onset, int(0.04 * RENDER_RATE))
        noise = np.diff(rng.standard_normal(burst + 1))  # crude high-pass
        hat[onset:onset + burst] += gain * (arousal + 1) * 0.12 * noise * np.exp(
            -np.arange(burst) / (0.01 * RENDER_RATE))
        time_s += beat_s
        beat += 1
    mix = out + hat
    peak = np.abs(mix).max()
    if peak > 0.99:
        mix *= 0.99 / peak
    return mix.astype(np.float32)


def plan_songs(n_clips: int, n_full_songs: int, seed: int, clip_s: float = 45.0,
               full_song_s: float = 75.0) -> list[DemoSong]:
    """Choose ids (DEAM-like: clips among 2-2000, full songs from 2001) and curves."""
    rng = np.random.default_rng(seed)
    clip_ids = np.sort(rng.choice(np.asarray(CLIP_IDS), size=n_clips, replace=False))
    ids = [int(i) for i in clip_ids] + list(FULL_SONG_IDS[:n_full_songs])
    songs = []
    for song_id in ids:
        duration = clip_s if song_id in CLIP_IDS else full_song_s
        songs.append(DemoSong(song_id, duration, smooth_curve(rng, duration),
                              smooth_curve(rng, duration), int(rng.integers(12)),
                              int(rng.integers(2**31))))
    return songs


def annotate(song: DemoSong, curve: np.ndarray, noise_std: float,
             rng: np.random.Generator, start_s: float = ANNOTATION_START_S
             ) -> AnnotationSeries:
    """2 Hz annotation from ``start_s`` (DEAM's 15 s) to the end: curve plus Gaussian label
    noise, clipped to [-1, 1]."""
    count = int(round((song.duration_s - start_s) / ANNOTATION_STEP_S))
    times = start_s + ANNOTATION_STEP_S * np.arange(count)
    values = curve_at(curve, times) + rng.normal(0.0, noise_std, size=count)
    return AnnotationSeries(song.song_id, times, np.clip(values, -1.0, 1.0))


N_RATERS = 5
DEMO_GENRES = ("Rock", "Pop", "Electronic", "Classical")
METADATA_FILES = (  # DEAM's metadata.zip: file, header, ids it holds (first, last)
    ("metadata_2013.csv", "song_id,file_name,Artist,Song title,Genre", (2, 1000)),
    ("metadata_2014.csv", "Id,Artist,Track,Genre", (1001, 2000)),
    ("metadata_2015.csv", "id,file_name,Artist,title,genre", (2001, 2058)))


def _write_raters(out_dir: Path, target: str, series: dict[int, AnnotationSeries],
                  noise_std: float, rng: np.random.Generator) -> None:
    """DEAM's per-rater files of ``target``: :data:`N_RATERS` raters per song whose mean is
    the averaged annotation (before clipping) and whose spread is ``noise_std *
    sqrt(N_RATERS)``, so that their average has the label noise of the averaged file."""
    folder = out_dir / RATER_DYNAMIC / target
    folder.mkdir(parents=True, exist_ok=True)
    for song_id, averaged in series.items():
        deviations = rng.normal(0.0, noise_std * math.sqrt(N_RATERS),
                                size=(N_RATERS, len(averaged.values)))
        raters = np.clip(averaged.values + deviations - deviations.mean(axis=0), -1.0, 1.0)
        header = ",".join(["WorkerId"] + [f"sample_{round(t * 1000)}ms"
                                          for t in averaged.times_s])
        rows = [f"w{song_id}{number}," + ",".join(f"{v:.4f}" for v in values)
                for number, values in enumerate(raters)]
        (folder / f"{song_id}.csv").write_text("\n".join([header, *rows]) + "\n")


def _write_metadata(out_dir: Path, songs: list[DemoSong], rng: np.random.Generator) -> None:
    """``metadata/metadata_2013/2014/2015.csv`` with a genre per song (DEAM's headers)."""
    folder = out_dir / METADATA
    folder.mkdir(parents=True, exist_ok=True)
    for name, header, (first, last) in METADATA_FILES:
        rows = [header]
        for song in songs:
            if first <= song.song_id <= last:
                genre = DEMO_GENRES[int(rng.integers(len(DEMO_GENRES)))]
                cells = {"metadata_2014.csv": f"{song.song_id},Demo,Song {song.song_id},{genre}"}
                rows.append(cells.get(name, f"{song.song_id},{song.song_id}.mp3,Demo,"
                                            f"Song {song.song_id},{genre}"))
        (folder / name).write_text("\n".join(rows) + "\n")


def _write_audio(path: Path, samples: np.ndarray, rate: int) -> None:
    import soundfile

    formats = {".mp3": ("MP3", "MPEG_LAYER_III"), ".wav": ("WAV", "PCM_16"),
               ".flac": ("FLAC", "PCM_16"), ".ogg": ("OGG", "VORBIS")}
    fmt, subtype = formats[path.suffix]
    with atomic_path(path) as tmp:
        soundfile.write(tmp, samples, rate, format=fmt, subtype=subtype)


def render_song(song: DemoSong, path: Path, rate: int = RENDER_RATE, channels: int = 1) -> None:
    """Synthesize ``song`` and write it to ``path`` (format from the suffix: MP3, WAV, FLAC
    or OGG) at ``rate`` Hz with 1 or 2 channels."""
    samples = synthesize(song)
    if rate != RENDER_RATE:
        samples = resample(samples, RENDER_RATE, rate)
    if channels == 2:
        samples = np.stack([samples, 0.8 * samples], axis=1)
    _write_audio(path, samples, rate)


def _render_job(_: None, job: tuple) -> None:
    """Engine task: render one song (``job``: the arguments of :func:`render_song`)."""
    render_song(*job)


def _write_static(folder: Path, songs: list[DemoSong]) -> None:
    """Song-level CSVs on the 1-9 scale, with the real files' header quirks."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = {"static_annotations_averaged_songs_1_2000.csv":
             ["song_id, valence_mean, valence_std, arousal_mean, arousal_std"],
             "static_annotations_averaged_songs_2000_2058.csv":
             ["song_id, valence_mean, valence_std, valence_ max_mean, arousal_mean, arousal_std"]}
    for song in songs:
        valence, arousal = (5 + 4 * float(np.mean(c)) for c in (song.valence, song.arousal))
        if song.song_id in CLIP_IDS:
            lines["static_annotations_averaged_songs_1_2000.csv"].append(
                f"{song.song_id},{valence:.1f},1.0,{arousal:.1f},1.0")
        else:
            top = 5 + 4 * float(np.max(song.valence))
            lines["static_annotations_averaged_songs_2000_2058.csv"].append(
                f"{song.song_id},{valence:.1f},1.0,{top:.1f},{arousal:.1f},1.0")
    for name, rows in lines.items():
        (folder / name).write_text("\n".join(rows) + "\n")


TEST_SONG_FORMATS = ((".mp3", 44100, 1), (".wav", 22050, 2), (".flac", 48000, 1),
                     (".ogg", 32000, 2))
LAYOUTS = ("deam", "pmemo", "csv")
PMEMO_START_S = 15.5  # PMEmo's frameTime starts here
CSV_AUDIO = Path("my songs")  # a space, as users' folders have


def _pmemo_layout(out_dir: Path, songs: list[DemoSong]) -> list[tuple]:
    """PMEmo2019's files for ``songs`` (ids 1..n): chorus clips to render, metadata with
    quoted commas; returns the render jobs."""
    from emoreco.data.pmemo import AUDIO, METADATA, ROOT_NAME

    root = out_dir / ROOT_NAME
    (root / AUDIO).mkdir(parents=True, exist_ok=True)
    rows = ["musicId,fileName,title,artist,album,duration,chorus_start_time,chorus_end_time"]
    for song in songs:
        rows.append(f'{song.song_id},{song.song_id}.mp3,"Chorus {song.song_id}, live",'
                    f'"Demo, the band","Synthetic, vol. 1",{song.duration_s + 60:.1f},'
                    f'"00:30",{30 + song.duration_s:.1f}')
    (root / METADATA).write_text("\n".join(rows) + "\n")
    return [(song, root / AUDIO / f"{song.song_id}.mp3") for song in songs]


def _write_pmemo_annotations(out_dir: Path, songs: list[DemoSong], noise_std: float,
                             rng: np.random.Generator) -> None:
    """``dynamic_annotations.csv`` (values in [0, 1], frameTime from 15.5 s), its ``_std``
    file and the static files, as PMEmo2019 has them."""
    from emoreco.data.pmemo import DYNAMIC, ROOT_NAME

    folder = (out_dir / ROOT_NAME / DYNAMIC).parent
    folder.mkdir(parents=True, exist_ok=True)
    mean_rows = ["musicId,frameTime,Arousal(mean),Valence(mean)"]
    std_rows = ["musicId,frameTime,Arousal(std),Valence(std)"]
    static_rows = ["musicId,Arousal(mean),Valence(mean)"]
    for song in songs:
        arousal, valence = (annotate(song, curve, noise_std, rng, PMEMO_START_S)
                            for curve in (song.arousal, song.valence))
        for time_s, a, v in zip(arousal.times_s, arousal.values, valence.values):
            mean_rows.append(f"{song.song_id},{time_s:g},{(a + 1) / 2:.6f},{(v + 1) / 2:.6f}")
            std_rows.append(f"{song.song_id},{time_s:g},{noise_std / 2:.4f},{noise_std / 2:.4f}")
        static_rows.append(f"{song.song_id},{(np.mean(song.arousal) + 1) / 2:.4f},"
                           f"{(np.mean(song.valence) + 1) / 2:.4f}")
    (folder / "dynamic_annotations.csv").write_text("\n".join(mean_rows) + "\n")
    (folder / "dynamic_annotations_std.csv").write_text("\n".join(std_rows) + "\n")
    (folder / "static_annotations.csv").write_text("\n".join(static_rows) + "\n")


def _csv_name(song: DemoSong) -> str:
    return (CSV_AUDIO / f"song {song.song_id:03d}.wav").as_posix()


def _write_csv_annotations(out_dir: Path, songs: list[DemoSong], noise_std: float,
                           rng: np.random.Generator) -> None:
    """The user's long CSV (``annotations.csv``): annotated from 0 s."""
    rows = ["audio,time_s,arousal,valence"]
    for song in songs:
        arousal, valence = (annotate(song, curve, noise_std, rng, 0.0)
                            for curve in (song.arousal, song.valence))
        rows += [f"{_csv_name(song)},{t:g},{a:.6f},{v:.6f}"
                 for t, a, v in zip(arousal.times_s, arousal.values, valence.values)]
    (out_dir / "annotations.csv").write_text("\n".join(rows) + "\n")


def generate_demo_corpus(out_dir: str | Path, n_clips: int = 80, n_full_songs: int = 4,
                         label_noise_std: float = 0.1, seed: int = 0,
                         test_songs_dir: str | Path | None = None, n_test_songs: int = 4,
                         n_jobs: int = -1, progress: bool = True,
                         layout: str = "deam") -> dict:
    """Write a synthetic corpus (and optionally songs to predict) and return its truth.

    Parameters
    ----------
    out_dir : path
        ``deam`` layout: ``MEMD_audio/<id>.mp3`` and the ``annotations/`` tree;
        ``pmemo``: ``PMEmo2019/`` (``chorus/``, ``metadata.csv``, ``annotations/``, ids
        1..n, values in [0, 1] from 15.5 s); ``csv``: ``annotations.csv`` (from 0 s) and
        ``my songs/song NNN.wav``. Always ``demo_truth.json``.
    n_clips, n_full_songs : int
        45-s clips (ids in 2..2000) and 75-s "full songs" (ids from 2001).
    label_noise_std : float
        Standard deviation of the Gaussian noise added to the annotations.
    test_songs_dir : path, optional
        Also write ``n_test_songs`` unannotated songs in mixed formats, rates and channel
        counts (MP3, WAV, FLAC, OGG), with their true curves in ``demo_truth.json``.
    layout : str
        One of :data:`LAYOUTS`: the corpus kind to write.

    Returns
    -------
    dict
        The content of ``demo_truth.json``.
    """
    from tqdm import tqdm

    from emoreco.core.engine import open_engine

    if n_clips + n_full_songs < 1:
        raise ValueError("the demo corpus needs at least one song")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; one of {LAYOUTS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    songs = plan_songs(n_clips, n_full_songs, seed)
    jobs: list[tuple]
    if layout == "pmemo":
        songs = [replace(song, song_id=number) for number, song in enumerate(songs, start=1)]
        jobs = _pmemo_layout(out_dir, songs)
    elif layout == "csv":
        (out_dir / CSV_AUDIO).mkdir(parents=True, exist_ok=True)
        jobs = [(song, out_dir / _csv_name(song), 22050) for song in songs]
    else:
        audio_dir = out_dir / OFFICIAL_AUDIO
        audio_dir.mkdir(parents=True, exist_ok=True)
        jobs = [(song, audio_dir / f"{song.song_id}.mp3") for song in songs]
    extra: list[DemoSong] = []
    if test_songs_dir is not None:
        test_dir = Path(test_songs_dir)
        test_dir.mkdir(parents=True, exist_ok=True)
        extra = plan_songs(n_test_songs, 0, seed + 1, clip_s=40.0)
        for number, song in enumerate(extra):
            suffix, rate, channels = TEST_SONG_FORMATS[number % len(TEST_SONG_FORMATS)]
            jobs.append((song, test_dir / f"demo_song_{number + 1}{suffix}", rate, channels))
    with open_engine(None, n_jobs, len(jobs)) as engine:
        for _ in tqdm(engine.map_unordered(None, _render_job, jobs), total=len(jobs),
                      desc="demo songs", unit="song", disable=not progress):
            pass

    rng = np.random.default_rng(seed + 2)
    if layout == "pmemo":
        _write_pmemo_annotations(out_dir, songs, label_noise_std, rng)
    elif layout == "csv":
        _write_csv_annotations(out_dir, songs, label_noise_std, rng)
    else:
        rater_rng = np.random.default_rng(seed + 3)  # apart: the averaged files stay as before
        for name in ("arousal", "valence"):
            series = {s.song_id: annotate(s, getattr(s, name), label_noise_std, rng)
                      for s in songs}
            write_dynamic_annotations(out_dir / OFFICIAL_DYNAMIC / f"{name}.csv", series)
            _write_raters(out_dir, name, series, label_noise_std, rater_rng)
        _write_static(out_dir / OFFICIAL_STATIC, songs)
        _write_metadata(out_dir, songs, rater_rng)
    truth = {
        "layout": layout,
        "label_noise_std": label_noise_std,
        "arousal_rmse_floor": label_noise_std / math.sqrt(3),
        "valence_rmse_floor": label_noise_std,
        "n_songs": len(songs),
        "seed": seed,
        "test_songs": {
            f"demo_song_{n + 1}": {"arousal_mean": float(np.mean(s.arousal)),
                                   "valence_mean": float(np.mean(s.valence))}
            for n, s in enumerate(extra)},
    }
    write_json(out_dir / "demo_truth.json", truth, indent=2)
    return truth
