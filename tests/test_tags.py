"""emoreco tag: the values in each format's own tags, and no file ever damaged."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, sine_clip, write_with_pyav

pytest.importorskip("mutagen")

SECONDS = 12.0
FORMATS = ("mp3", "m4a", "opus", "ogg", "flac", "wav", "aiff")  # every storage and container
OTHER_TITLE = "Keep this title"


def _music(rate: int, variant: int = 0) -> np.ndarray:
    """12 s of a deterministic chord with a rising note, shape (2, n); variants differ in
    pitch and in how much noise (energy) they carry, so their values differ."""
    base = 220.0 * 1.26 ** variant
    left = sine_clip(SECONDS, rate, ((base, 0.3), (base * 1.26, 0.2), (base * 1.5, 0.2)))
    t = np.arange(left.size) / rate
    right = (0.3 * np.sin(2 * np.pi * (2 * base + 20 * t) * t)).astype(np.float32)
    noise = np.random.default_rng(variant).uniform(-1, 1, (2, left.size)) * 0.15 * variant
    return (np.stack([left, right]) + noise).astype(np.float32) / (1 + 0.15 * variant)


def _write(path: Path, variant: int = 0) -> Path:
    """An audio file of ``path``'s format with a title tag (another tool's tag)."""
    import mutagen
    import soundfile as sf

    kind = path.suffix[1:]
    if kind == "mp3":
        write_with_pyav(path, _music(44100, variant), 44100, "libmp3lame", "mp3")
    elif kind == "m4a":
        write_with_pyav(path, _music(44100, variant), 44100, "aac", "mp4")
    elif kind == "opus":
        write_with_pyav(path, _music(48000, variant), 48000, "libopus", "ogg")
    else:
        sf.write(path, _music(44100, variant).T, 44100,
                 format={"ogg": "OGG", "flac": "FLAC", "wav": "WAV", "aiff": "AIFF"}[kind],
                 subtype={"ogg": "VORBIS"}.get(kind))
    if kind in ("wav", "aiff"):  # an ID3 chunk; mutagen's "easy" interface has none
        from mutagen.id3 import TIT2

        audio = mutagen.File(path)
        audio.add_tags()
        audio.tags.add(TIT2(encoding=3, text=[OTHER_TITLE]))
    else:
        audio = mutagen.File(path, easy=True)
        if audio.tags is None:
            audio.add_tags()
        audio["title"] = [OTHER_TITLE]
    audio.save()
    return path


def pcm_digest(path: Path) -> str:
    """SHA-256 of the decoded audio (every frame's samples, FFmpeg through PyAV)."""
    import av

    digest = hashlib.sha256()
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            digest.update(frame.to_ndarray().tobytes())
    return digest.hexdigest()


def title_of(path: Path) -> str:
    import mutagen

    if path.suffix in (".wav", ".aiff"):
        return str(mutagen.File(path).tags["TIT2"])
    return mutagen.File(path, easy=True)["title"][0]


@pytest.fixture(scope="module")
def library_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One untagged-by-us file per format (made once; tests copy the folder)."""
    folder = tmp_path_factory.mktemp("library")
    for kind in FORMATS:
        _write(folder / f"song.{kind}")
    return folder


@pytest.fixture
def library(library_source: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "Music"
    shutil.copytree(library_source, folder)
    return folder


def _options(trained_models: Path, **changes):
    from emoreco.runs.tagging import TagOptions

    return TagOptions(models_dir=trained_models / "models", jobs=1, progress=False,
                      allow_demo=True, **changes)  # the tests' models: a generated corpus


def _mediafile_class():
    """beets' MediaFile with the emoreco fields, as the beets plugin declares them."""
    from mediafile import MediaField, MediaFile, MP3DescStorageStyle, MP4StorageStyle, \
        StorageStyle

    from emoreco.outputs.tags import tag_names

    class Probe(MediaFile):
        pass

    for name in tag_names():
        Probe.add_field(name.lower(), MediaField(
            MP3DescStorageStyle(name), MP4StorageStyle(f"----:com.apple.iTunes:{name}"),
            StorageStyle(name)))
    return Probe


def test_every_format_is_tagged_readable_by_mutagen_and_mediafile_and_unharmed(
        trained_models, library):
    import emoreco
    from emoreco.outputs.tags import read_tags, tag_names
    from emoreco.runs.tagging import tag_files

    files = sorted(library.iterdir())
    before = {path: (pcm_digest(path), path.stat()) for path in files}
    result = tag_files([library], _options(trained_models, mood=True), report=pytest.fail)
    assert sorted(change.path for change in result.changed) == [p.resolve() for p in files]
    means = {curve.song: curve.summary() for curve in
             emoreco.predict([library], models_dir=trained_models / "models")}
    probe = _mediafile_class()
    for path in files:
        tags = read_tags(path)
        assert set(tag_names()) | {"MOOD"} == set(tags), path
        summary = means[path.name]
        for target in ("arousal", "valence"):  # MAIN.py's song mean, as %.3f
            assert tags[f"EMORECO_{target.upper()}"] == f"{summary[f'{target}_mean']:.3f}"
            assert tags[f"EMORECO_{target.upper()}_END"] == f"{summary[f'{target}_end']:.3f}"
            band = tags[f"EMORECO_{target.upper()}_BAND"]  # the band's mean half-width
            assert band == f"{summary[f'{target}_band']:.3f}" and 0 < float(band) < 1
        assert tags["MOOD"] in {"Happy", "Tense", "Sad", "Calm"}
        media = probe(str(path))
        assert media.emoreco_arousal == tags["EMORECO_AROUSAL"], path
        assert media.emoreco_models == tags["EMORECO_MODELS"]
        digest, status = before[path]
        assert pcm_digest(path) == digest, f"{path}: the audio changed"
        assert title_of(path) == OTHER_TITLE  # another tool's tag kept
        after = path.stat()
        assert (after.st_mode, after.st_mtime_ns) == (status.st_mode, status.st_mtime_ns)
    assert not [p for p in library.iterdir() if p.name.startswith(".")]  # no copies left


def test_a_second_run_skips_without_decoding_and_force_redoes(trained_models, library,
                                                              monkeypatch):
    from emoreco.runs import catalog, tagging

    tagging.tag_files([library], _options(trained_models), report=pytest.fail)

    def no_decoding(*args):
        raise AssertionError("a tagged file was decoded again")

    with monkeypatch.context() as patch:
        patch.setattr(catalog, "predict_song", no_decoding)  # what every engine runs
        again = tagging.tag_files([library], _options(trained_models), report=pytest.fail)
    assert len(again.skipped) == len(FORMATS) and not again.changed
    forced = tagging.tag_files([library], _options(trained_models, force=True),
                               report=pytest.fail)
    assert not forced.skipped and len(forced.unchanged) == len(FORMATS)  # same values


def test_dry_run_reports_the_changes_and_writes_nothing(trained_models, library):
    from emoreco.runs.tagging import tag_files

    before = {p: p.read_bytes() for p in library.iterdir()}
    result = tag_files([library], _options(trained_models, dry_run=True, mood=True),
                       report=pytest.fail)
    assert len(result.changed) == len(FORMATS)
    assert all(change.changes["EMORECO_AROUSAL"][0] is None for change in result.changed)
    assert {p: p.read_bytes() for p in library.iterdir()} == before


def test_an_existing_mood_is_kept_unless_forced(trained_models, library):
    import mutagen

    from emoreco.outputs.tags import read_tags
    from emoreco.runs.tagging import tag_files

    song = library / "song.flac"
    audio = mutagen.File(song)
    audio["MOOD"] = ["Dreamy"]
    audio.save()
    tag_files([song], _options(trained_models, mood=True), report=pytest.fail)
    assert read_tags(song)["MOOD"] == "Dreamy"
    tag_files([song], _options(trained_models, mood=True, force=True), report=pytest.fail)
    assert read_tags(song)["MOOD"] in {"Happy", "Tense", "Sad", "Calm"}


def test_read_only_damaged_and_unknown_files_are_one_line_each_and_the_rest_is_tagged(
        trained_models, library):
    from emoreco.outputs.tags import read_tags
    from emoreco.runs.tagging import tag_files

    locked = library / "song.wav"
    locked.chmod(0o444)
    damaged = library / "damaged.flac"
    damaged.write_bytes(b"fLaC" + b"\x00\x00\x00\x22" + b"\xff" * 10)  # truncated STREAMINFO
    unknown = library / "notes.mp3"
    unknown.write_text("not audio at all\n" * 50)
    before = {p: p.read_bytes() for p in (locked, damaged, unknown)}
    lines: list[str] = []
    result = tag_files([library], _options(trained_models), report=lines.append)
    assert sorted(result.failures) == sorted([locked, damaged, unknown])
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    assert any("read-only" in line and "song.wav" in line for line in lines)
    assert {p: p.read_bytes() for p in before} == before
    assert len(result.changed) == len(FORMATS) - 1
    assert "EMORECO_VALENCE" in read_tags(library / "song.opus")


def test_a_link_is_followed_and_kept(trained_models, library, tmp_path):
    from emoreco.outputs.tags import read_tags
    from emoreco.runs.tagging import tag_files

    link = tmp_path / "link.flac"
    link.symlink_to(library / "song.flac")
    tag_files([link], _options(trained_models), report=pytest.fail)
    assert link.is_symlink() and "EMORECO_AROUSAL" in read_tags(library / "song.flac")


KILLER = """
import os, shutil, signal, sys
from emoreco.outputs import tags
moment = sys.argv[1]
if moment == "copying":       # half the file copied
    def copy(source, target):
        data = open(source, "rb").read()
        with open(target, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    tags.shutil.copyfile = copy
else:                          # the tagged copy saved, not yet renamed over the file
    def check(*args):
        os.kill(os.getpid(), signal.SIGKILL)
    tags._check_copy = check
from emoreco.cli import main_module
sys.exit(main_module(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["copying", "saved"])
def test_a_run_killed_while_writing_leaves_every_file_intact(trained_models, library, moment):
    from emoreco.outputs.tags import read_tags

    before = {p: (p.read_bytes(), pcm_digest(p)) for p in library.iterdir()}
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, moment, "tag", str(library), "--jobs", "1",
         "--quiet", "--allow-demo", "--models-dir", str(trained_models / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = [p for p in library.iterdir() if p.name.startswith(".")]
    assert len(left) == 1  # the copy being written when it was killed
    for path, (content, digest) in before.items():
        assert path.read_bytes() == content  # as it was, playable
    again = subprocess.run(
        [sys.executable, "-m", "emoreco", "tag", str(library), "--jobs", "1", "--quiet",
         "--allow-demo", "--models-dir", str(trained_models / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert not [p for p in library.iterdir() if p.name.startswith(".")]  # cleaned up
    for path, (_, digest) in before.items():
        assert "EMORECO_AROUSAL" in read_tags(path) and pcm_digest(path) == digest


@pytest.mark.slow
def test_the_command_line_prints_one_line_per_problem_and_exits_1(trained_models, library):
    (library / "song.aiff").chmod(stat.S_IRUSR)
    result = subprocess.run(
        [sys.executable, "-m", "emoreco", "tag", str(library), "--dry-run", "--jobs", "1",
         "--quiet", "--allow-demo", "--models-dir", str(trained_models / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr  # a dry run writes nothing, so no failure
    assert result.stderr.count("would change /") == len(FORMATS)
    written = subprocess.run(
        [sys.executable, "-m", "emoreco", "tag", str(library), "--jobs", "1", "--quiet",
         "--allow-demo", "--models-dir", str(trained_models / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert written.returncode == 1 and "Traceback" not in written.stderr
    assert written.stderr.count("failed: ") == 1 and "read-only" in written.stderr
    assert f"{len(FORMATS) - 1} files tagged" in written.stderr
    os.chmod(library / "song.aiff", 0o644)


def test_demo_models_are_refused_unless_allowed(trained_models, library):
    before = {p: p.read_bytes() for p in library.iterdir()}
    refused = subprocess.run(
        [sys.executable, "-m", "emoreco", "tag", str(library), "--jobs", "1", "--quiet",
         "--models-dir", str(trained_models / "models")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith("error: not tagging with demo models") and "--allow-demo" in last
    assert {p: p.read_bytes() for p in library.iterdir()} == before
