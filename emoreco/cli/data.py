"""``python -m emoreco extract``, ``demo`` and ``fetch-deam``: preparing corpora."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoreco.cli.common import DEFAULT_DATA, add_data_options, job_count, log
from emoreco.core.config import FeatureParams, add_dataclass_arguments, dataclass_from_args
from emoreco.core.deam import CLIP_IDS, FULL_SONG_IDS
from emoreco.core.errors import ConfigError
from emoreco.model.targets import TARGETS


def extract_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco extract``."""
    parser = argparse.ArgumentParser(
        prog="emoreco extract",
        description="Compute and cache the features of every annotated song.")
    add_data_options(parser)
    parser.add_argument("--target", choices=tuple(TARGETS), default="arousal",
                        help="whose annotation file selects the songs (default: arousal)")
    add_dataclass_arguments(parser, FeatureParams, "features")
    return parser


def extract_main(args: argparse.Namespace) -> int:
    """Fill the cache for every corpus; exit 1 if no song could be read."""
    from emoreco.core.extras import require

    require("pandas", "training", "reading annotations")  # before the modules that use it
    from emoreco.data.extraction import prepare_corpus
    from emoreco.data.sources import corpus_sources

    params = dataclass_from_args(FeatureParams, args)
    cached = 0
    for source in corpus_sources(args.deam_dir, args.corpus, args.audio_dir,
                                 args.annotations_dir):
        prepared = prepare_corpus(source, args.target, params, args.cache_dir, args.jobs,
                                  not args.quiet, args.scheduler)
        count = len(prepared.corpus.audio) - len(prepared.failures)
        log.info("%s: %d songs cached in %s and %s", source, count, prepared.cache.mfcc_root,
                 prepared.cache.chroma_root)
        cached += count
    return 0 if cached else 1


def demo_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco demo``."""
    parser = argparse.ArgumentParser(
        prog="emoreco demo",
        description="Write a synthetic corpus in the official DEAM layout (or PMEmo's, or "
                    "a user's CSV), with known emotion curves and label noise, plus "
                    "unannotated songs to predict.")
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA / "demo_deam",
                        help=f"the corpus folder (default: {DEFAULT_DATA / 'demo_deam'})")
    parser.add_argument("--layout", choices=("deam", "pmemo", "csv"), default="deam",
                        help="the corpus kind to write: deam (MEMD_audio/, annotations/), "
                             "pmemo (PMEmo2019/), csv (annotations.csv and its songs) "
                             "(default: deam)")
    parser.add_argument("--test-songs-dir", type=Path, default=DEFAULT_DATA / "test_songs",
                        help="where the unannotated songs to predict go (default: "
                             f"{DEFAULT_DATA / 'test_songs'})")
    parser.add_argument("--clips", type=int, default=80, help="45-s songs (default: 80)")
    parser.add_argument("--full-songs", type=int, default=4, help="75-s songs (default: 4)")
    parser.add_argument("--test-songs", type=int, default=4,
                        help="unannotated songs to predict, in MP3, WAV, FLAC and Ogg in turn "
                             "(default: 4)")
    parser.add_argument("--label-noise", type=float, default=0.1,
                        help="std of the annotation noise (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed: the same seed writes the same corpus (default: 0)")
    parser.add_argument("--jobs", type=job_count, default=-1,
                        help="parallel processes (default: -1, all cores)")
    parser.add_argument("--force", action="store_true", help="rewrite an existing corpus")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def demo_main(args: argparse.Namespace) -> int:
    """Write the demo corpus unless one is there."""
    from emoreco.core.extras import require

    require("pandas", "training", "the demo corpus")  # before the module that uses it
    from emoreco.data.demo import generate_demo_corpus

    if args.clips < 0 or args.full_songs < 0 or args.clips + args.full_songs < 2:
        raise ConfigError("the demo corpus needs at least 2 songs")
    if (args.clips > len(CLIP_IDS) or args.full_songs > len(FULL_SONG_IDS)
            or not 0 <= args.test_songs <= 100):
        raise ConfigError(f"DEAM's ids allow at most {len(CLIP_IDS)} clips ({CLIP_IDS.start}-"
                          f"{CLIP_IDS.stop - 1}) and {len(FULL_SONG_IDS)} full songs "
                          f"({FULL_SONG_IDS.start}-{FULL_SONG_IDS.stop - 1}); --test-songs "
                          "must be between 0 and 100")
    if not 0 <= args.label_noise < 1:
        raise ConfigError("--label-noise must be in [0, 1)")
    if (args.out / "demo_truth.json").is_file() and not args.force:
        log.info("%s already holds a demo corpus (use --force to rewrite it)", args.out)
        return 0
    truth = generate_demo_corpus(args.out, args.clips, args.full_songs, args.label_noise,
                                 args.seed, args.test_songs_dir if args.test_songs else None,
                                 args.test_songs, args.jobs, progress=not args.quiet,
                                 layout=args.layout)
    log.info("demo corpus (%s layout) of %d songs in %s; RMSE floors: arousal %.4f, valence %.4f",
             args.layout, truth["n_songs"], args.out, truth["arousal_rmse_floor"],
             truth["valence_rmse_floor"])
    return 0


def fetch_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco fetch-deam``."""
    from emoreco.data.fetch import DEFAULT_ARCHIVES, OFFICIAL_ARCHIVES

    parser = argparse.ArgumentParser(
        prog="emoreco fetch-deam",
        description="Download the official DEAM archives, verify their size and SHA-256, "
                    "and unpack them side by side (MEMD_audio/, annotations/) into --dest. "
                    "Interrupted downloads resume; a second run downloads nothing.")
    parser.add_argument("--dest", type=Path, required=True, help="folder to fill (e.g. ~/DEAM)")
    parser.add_argument("--archives", nargs="+", default=list(DEFAULT_ARCHIVES),
                        metavar="NAME", help="archives to fetch (default: "
                        f"{' '.join(DEFAULT_ARCHIVES)}; also: "
                        f"{' '.join(a.name for a in OFFICIAL_ARCHIVES)})")
    parser.add_argument("--base-url", help="a mirror holding the archives under their names")
    parser.add_argument("--manifest", type=Path,
                        help="JSON list of archives (name, url, size, sha256, unpacks_to) "
                             "instead of the official one")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def fetch_main(args: argparse.Namespace) -> int:
    """Fetch the archives; exit 2 on any failure (with the reason)."""
    from emoreco.data.fetch import fetch_deam

    fetch_deam(args.dest, args.archives, args.base_url, args.manifest, progress=not args.quiet)
    log.info("DEAM is ready in %s: python MAIN_arousal.py --deam-dir %s", args.dest, args.dest)
    return 0
