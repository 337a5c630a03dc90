"""``python -m emoreco extract``, ``demo`` and ``fetch-deam``: preparing corpora."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from emoreco.cli.common import DEFAULT_DATA, add_data_options, job_count, log
from emoreco.config import FeatureParams, add_dataclass_arguments, dataclass_from_args
from emoreco.errors import ConfigError
from emoreco.targets import TARGETS

if TYPE_CHECKING:  # pandas comes with the corpus; MAIN.py never needs it
    from emoreco.corpus import Corpus
    from emoreco.deam_layout import DeamPaths
    from emoreco.feature_cache import FeatureCache


def extract_features(args: argparse.Namespace, target: str) -> tuple[
        "DeamPaths", "Corpus", FeatureParams, "FeatureCache", dict[int, str]]:
    """Locate data, fill the cache, and return (paths, corpus, params, cache, failures)."""
    from emoreco.corpus import load_corpus
    from emoreco.deam_layout import locate_deam
    from emoreco.extraction import extract_corpus
    from emoreco.feature_cache import FeatureCache

    params = dataclass_from_args(FeatureParams, args)
    paths = locate_deam(args.deam_dir, args.audio_dir, args.annotations_dir)
    corpus = load_corpus(paths, target)
    log.info("%s (%s)", corpus.summary(), paths.annotation_csv(target))
    cache = FeatureCache(args.cache_dir.resolve(), params)  # workers may run elsewhere
    failures = extract_corpus(corpus.audio, params, cache, args.jobs, progress=not args.quiet,
                              scheduler=args.scheduler)
    if failures:
        log.warning("%d song(s) skipped because their audio is unusable (listed above)",
                    len(failures))
    return paths, corpus, params, cache, failures


def extract_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco extract``."""
    parser = argparse.ArgumentParser(
        prog="python -m emoreco extract",
        description="Compute and cache the features of every annotated song.")
    add_data_options(parser)
    parser.add_argument("--target", choices=tuple(TARGETS), default="arousal",
                        help="whose annotation file selects the songs (default: arousal)")
    add_dataclass_arguments(parser, FeatureParams, "features")
    return parser


def extract_main(args: argparse.Namespace) -> int:
    """Fill the cache; exit 1 if no song could be read."""
    _, corpus, _, cache, failures = extract_features(args, args.target)
    log.info("%d songs cached in %s and %s", len(corpus.audio) - len(failures),
             cache.mfcc_root, cache.chroma_root)
    return 1 if failures and len(failures) == len(corpus.audio) else 0


def demo_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco demo``."""
    parser = argparse.ArgumentParser(
        prog="python -m emoreco demo",
        description="Write a synthetic corpus in the official DEAM layout, with known "
                    "emotion curves and label noise, plus unannotated songs to predict.")
    parser.add_argument("--out", type=Path, default=DEFAULT_DATA / "demo_deam")
    parser.add_argument("--test-songs-dir", type=Path, default=DEFAULT_DATA / "test_songs")
    parser.add_argument("--clips", type=int, default=80, help="45-s songs (default: 80)")
    parser.add_argument("--full-songs", type=int, default=4, help="75-s songs (default: 4)")
    parser.add_argument("--test-songs", type=int, default=4)
    parser.add_argument("--label-noise", type=float, default=0.1,
                        help="std of the annotation noise (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=job_count, default=-1,
                        help="parallel processes (default: -1, all cores)")
    parser.add_argument("--force", action="store_true", help="rewrite an existing corpus")
    parser.add_argument("--quiet", action="store_true")
    return parser


def demo_main(args: argparse.Namespace) -> int:
    """Write the demo corpus unless one is there."""
    from emoreco.demo import generate_demo_corpus

    if args.clips < 0 or args.full_songs < 0 or args.clips + args.full_songs < 2:
        raise ConfigError("the demo corpus needs at least 2 songs")
    if args.clips > 1999 or args.full_songs > 58 or not 0 <= args.test_songs <= 100:
        raise ConfigError("DEAM's ids allow at most 1999 clips (2-2000) and 58 full songs "
                          "(2001-2058); --test-songs must be between 0 and 100")
    if not 0 <= args.label_noise < 1:
        raise ConfigError("--label-noise must be in [0, 1)")
    if (args.out / "demo_truth.json").is_file() and not args.force:
        log.info("%s already holds a demo corpus (use --force to rewrite it)", args.out)
        return 0
    truth = generate_demo_corpus(args.out, args.clips, args.full_songs, args.label_noise,
                                 args.seed, args.test_songs_dir, args.test_songs, args.jobs,
                                 progress=not args.quiet)
    log.info("demo corpus of %d songs in %s; RMSE floors: arousal %.4f, valence %.4f",
             truth["n_songs"], args.out, truth["arousal_rmse_floor"],
             truth["valence_rmse_floor"])
    return 0


def fetch_parser() -> argparse.ArgumentParser:
    """Options of ``python -m emoreco fetch-deam``."""
    from emoreco.fetch import DEFAULT_ARCHIVES, OFFICIAL_ARCHIVES

    parser = argparse.ArgumentParser(
        prog="python -m emoreco fetch-deam",
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
    from emoreco.fetch import OFFICIAL_ARCHIVES, fetch, read_manifest

    known = read_manifest(args.manifest) if args.manifest else OFFICIAL_ARCHIVES
    by_name = {archive.name: archive for archive in known}
    unknown = [name for name in args.archives if name not in by_name]
    if unknown:
        raise ConfigError(f"unknown archive(s) {', '.join(unknown)}; the manifest has "
                          f"{', '.join(by_name)}")
    fetch(args.dest, [by_name[name] for name in args.archives], args.base_url,
          progress=not args.quiet)
    log.info("DEAM is ready in %s: python MAIN_arousal.py --deam-dir %s", args.dest, args.dest)
    return 0
