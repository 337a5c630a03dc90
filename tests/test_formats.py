"""Every format a music library holds, decoded and compared with the signal it came from.

The files are written by the tests themselves with FFmpeg (PyAV) or libsndfile.
"""

import numpy as np
import pytest
import soundfile
import soxr

from conftest import write_with_pyav
from emoreco.audio.decode import decoders_for, load_audio
from emoreco.core.errors import AudioError

RATE = 44100
SECONDS = 3.0


@pytest.fixture(scope="module")
def source() -> np.ndarray:
    """Stereo test signal (2, n): a chord with a slow loudness change, right at half level."""
    t = np.arange(int(RATE * SECONDS)) / RATE
    mono = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * np.sin(2 * np.pi * 659.3 * t)
            + 0.1 * np.sin(2 * np.pi * 1100 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return np.stack([mono, 0.5 * mono]).astype(np.float32)


def _expected(source: np.ndarray, rate: int) -> np.ndarray:
    """What load_audio should return: mean of the channels, resampled to 12 kHz."""
    mono = source.mean(axis=0)
    if rate != RATE:
        mono = soxr.resample(mono, RATE, rate, quality="HQ")
    return soxr.resample(mono, rate, 12000, quality="HQ")


def _aligned_error(decoded: np.ndarray, expected: np.ndarray) -> tuple[int, float]:
    """(lag in samples, RMS error relative to the signal's RMS) after the best alignment
    within +-60 ms (lossy encoders add a delay)."""
    middle = slice(1200, len(expected) - 1200)
    best = None
    for lag in range(-720, 721):
        window = decoded[middle.start + lag:middle.stop + lag]
        if len(window) != middle.stop - middle.start:
            continue
        error = np.sqrt(np.mean((window - expected[middle]) ** 2))
        if best is None or error < best[1]:
            best = (lag, error)
    assert best is not None
    return best[0], best[1] / np.sqrt(np.mean(expected[middle] ** 2))


LOSSLESS = [("flac.mkv", "flac", None), ("alac.m4a", "alac", None), ("pcm.aiff", "pcm_s16be",
                                                                   None)]
LOSSY = [("aac.m4a", "aac", None), ("opus.webm", "libopus", "webm"), ("opus.opus", "libopus",
                                                                       "ogg"),
         ("wma.wma", "wmav2", "asf")]


@pytest.mark.parametrize("name, codec, container", LOSSLESS)
def test_lossless_files_decode_to_the_source(tmp_path, source, name, codec, container):
    path = write_with_pyav(tmp_path / name, source, RATE, codec, container)
    decoded = load_audio(path, 12000)
    expected = _expected(source, RATE)
    assert abs(len(decoded) - len(expected)) <= 1
    n = min(len(decoded), len(expected))
    # 16-bit quantisation; the first and last 10 ms differ with the resampler (the signal
    # starts and stops abruptly, and each filter rings its own way)
    np.testing.assert_allclose(decoded[120:n - 120], expected[120:n - 120], atol=2e-4)


@pytest.mark.parametrize("name, codec, container", LOSSY)
def test_lossy_files_decode_to_the_source_up_to_codec_noise(tmp_path, source, name, codec,
                                                            container):
    rate = 48000 if codec == "libopus" else RATE  # Opus runs at 48 kHz
    signal = source if rate == RATE else np.stack(
        [soxr.resample(c, RATE, rate, quality="HQ") for c in source])
    path = write_with_pyav(tmp_path / name, signal, rate, codec, container)
    decoded = load_audio(path, 12000)
    lag, error = _aligned_error(decoded, _expected(source, RATE))
    assert abs(lag) < 720 and error < 0.1, (lag, error)


def test_the_audio_track_of_a_video_file(tmp_path, source):
    path = write_with_pyav(tmp_path / "clip.mp4", source, RATE, "aac", video=True)
    lag, error = _aligned_error(load_audio(path, 12000), _expected(source, RATE))
    assert error < 0.1


def test_each_format_takes_the_decoder_measured_fastest(tmp_path, source, monkeypatch):
    import av

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("FFmpeg was used for a file libsndfile decodes faster")

    with monkeypatch.context() as patch:
        patch.setattr(av, "open", no_ffmpeg)
        for name in ("a.wav", "a.aiff"):
            soundfile.write(tmp_path / name, source.T, RATE, subtype="PCM_16")
            assert decoders_for(tmp_path / name)[0] == "sndfile"
            assert len(load_audio(tmp_path / name, 12000)) == 36000

    def no_sndfile(*args, **kwargs):
        raise AssertionError("libsndfile was used for a file FFmpeg decodes faster")

    for name, subtype in (("f.flac", "PCM_16"), ("v.ogg", "VORBIS"), ("m.mp3", "MPEG_LAYER_III")):
        soundfile.write(tmp_path / name, source.T, RATE, subtype=subtype)
    opus = np.stack([soxr.resample(c, RATE, 48000, quality="HQ") for c in source])
    write_with_pyav(tmp_path / "o.opus", opus, 48000, "libopus", "ogg")
    monkeypatch.setattr(soundfile, "SoundFile", no_sndfile)
    for name in ("f.flac", "v.ogg", "m.mp3", "o.opus"):
        assert decoders_for(tmp_path / name)[0] == "ffmpeg"
        first = load_audio(tmp_path / name, 12000)
        assert len(first) == 36000
        # the same file gives the same samples
        assert first.tobytes() == load_audio(tmp_path / name, 12000).tobytes()


def test_the_other_decoder_reads_what_the_first_cannot(tmp_path, source, monkeypatch):
    import av

    path = tmp_path / "x.opus"  # FFmpeg first; here it cannot open the file, libsndfile can
    soundfile.write(path, source.T, RATE, format="WAV", subtype="PCM_16")

    def refuse(*args, **kwargs):
        raise av.error.InvalidDataError(1094995529, "Invalid data found", str(path))

    monkeypatch.setattr(av, "open", refuse)
    decoded = load_audio(path, 12000)
    assert decoded.tobytes() == load_audio(path, 12000, decoders=("sndfile",)).tobytes()


def test_a_file_neither_decoder_reads_names_both_reasons(tmp_path):
    path = tmp_path / "noise.m4a"
    path.write_bytes(b"\x00\x01garbage" * 500)
    with pytest.raises(AudioError, match=r"noise.m4a: cannot decode audio \(FFmpeg: .*; "
                                         r"libsndfile: .*\)"):
        load_audio(path, 12000)


def test_a_video_without_sound_is_refused_clearly(tmp_path):
    import av

    path = tmp_path / "silent_film.mp4"
    with av.open(str(path), "w") as sink:
        picture = sink.add_stream("mpeg4", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 64, "yuv420p"
        for number in range(10):
            image = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            image.pts = number
            for packet in picture.encode(image):
                sink.mux(packet)
        for packet in picture.encode(None):
            sink.mux(packet)
    with pytest.raises(AudioError, match="silent_film.mp4: no audio stream"):
        load_audio(path, 12000)


def test_folders_recursive_glob_odd_names_links_and_duplicates(tmp_path, source):
    from emoreco.runs.inputs import find_audio_files

    root = tmp_path / "library"
    (root / "Album One" / "disc 2").mkdir(parents=True)
    (root / "Ålbum").mkdir()
    for path in (root / "top.flac", root / "Album One" / "01 Intro (live).flac",
                 root / "Album One" / "disc 2" / "b.wav", root / "Ålbum" / "Été — mix.wav"):
        soundfile.write(path, source.T, RATE)
    (root / "notes.txt").write_text("not audio")
    (root / "Album One" / "loop").symlink_to(root)  # a link back up: must not loop
    (root / "again.flac").symlink_to(root / "top.flac")  # the same file twice
    flat = find_audio_files([root])
    assert [p.name for p in flat] == ["again.flac"]  # one of the two routes to top.flac
    deep = find_audio_files([root], recursive=True)
    assert sorted(p.name for p in deep) == sorted(["again.flac", "01 Intro (live).flac",
                                                   "b.wav", "Été — mix.wav"])
    assert len({p.resolve() for p in deep}) == len(deep) == 4
    assert [p.name for p in find_audio_files([root], recursive=True, pattern="*live*")] == [
        "01 Intro (live).flac"]
    assert find_audio_files([root / "top.flac", root / "again.flac"]) == [root / "top.flac"]
    with pytest.raises(Exception, match="no audio files .* matching '\\*.m4a'"):
        find_audio_files([root], recursive=True, pattern="*.m4a")
    decoded = load_audio(root / "Ålbum" / "Été — mix.wav", 12000)
    assert len(decoded) == 36000
