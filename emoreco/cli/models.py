"""``emoreco models``: pack, install, list and verify models you can share."""

from __future__ import annotations

import argparse
from pathlib import Path

from emoreco.cli.common import log
from emoreco.core.text import printable


def models_parser() -> argparse.ArgumentParser:
    """Options of ``emoreco models``."""
    parser = argparse.ArgumentParser(
        prog="emoreco models",
        description="Share trained models as one checked file, and install them where "
                    "prediction finds them ($XDG_DATA_HOME/emoreco/models/NAME, else "
                    "~/.local/share/emoreco/models/NAME; the models named 'default' are "
                    "used when there is no --models-dir, no $EMORECO_MODELS and no models/ "
                    "here).")
    commands = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    pack = commands.add_parser("pack", help="write a models folder as one bundle file")
    pack.add_argument("models_dir", type=Path, metavar="DIR", help="a trained models folder")
    pack.add_argument("out", type=Path, metavar="OUT.zip", help="the bundle to write")
    pack.add_argument("--model", action="append", metavar="NAME",
                      help="only this model (repeatable; default: every model in DIR)")
    install = commands.add_parser("install", help="check a bundle (file or URL) and install it")
    install.add_argument("source", metavar="BUNDLE|URL",
                         help="a bundle made by `emoreco models pack`: a file, or an http(s) URL")
    install.add_argument("--sha256", metavar="HEX",
                         help="the bundle's SHA-256, as its author published it (checked "
                              "before anything is unpacked)")
    install.add_argument("--name", default="default",
                         help="install under this name (default: default, what prediction "
                              "uses)")
    install.add_argument("--force", action="store_true",
                         help="replace installed models of the same name")
    commands.add_parser("list", help="the installed models: targets, training data")
    verify = commands.add_parser("verify", help="check a models folder or installed models")
    verify.add_argument("what", metavar="DIR|NAME",
                        help="a models folder, or the name of installed models")
    return parser


def models_main(args: argparse.Namespace) -> int:
    """Run one action; exit 1 when ``verify`` or ``list`` finds a broken folder."""
    from emoreco.core.errors import EmorecoError
    from emoreco.runs import model_store

    if args.action == "pack":
        digest = model_store.pack_models(args.models_dir, args.out, args.model)
        log.info("wrote %s\nsha256 %s", printable(str(args.out)), digest)
        print(digest)
        return 0
    if args.action == "install":
        folder = model_store.install(args.source, args.name, args.sha256, args.force)
        log.info("installed %s", printable(str(folder)))
        return 0
    if args.action == "list":
        found = model_store.installed_models()
        if not found:
            log.info("no installed models in %s", model_store.models_root())
        for item in found:
            line = (f"{item.name}: broken ({item.problem})" if item.problem else
                    f"{item.name}: " + ", ".join(f"{t} ({m})" for m, t in item.targets.items())
                    + f"; trained on {item.provenance}; {item.scores}")
            print(printable(line))
        return 1 if any(item.problem for item in found) else 0
    folder = Path(args.what)
    if not folder.is_dir() and "/" not in args.what:
        folder = model_store.models_root() / args.what
    try:
        targets = model_store.verify_models(folder)
    except EmorecoError as exc:
        print(printable(f"{folder}: broken: {exc}"))
        return 1
    print(printable(f"{folder}: ok: " + ", ".join(f"{m} ({t})" for m, t in targets.items())))
    return 0
