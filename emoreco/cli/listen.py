"""``emoreco listen SOURCE``: valence and arousal of a live stream, as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from emoreco.cli.common import (add_model_options, finite_seconds, int_at_least, log,
                                 model_names, models_dir, seconds_at_least)


def listen_parser() -> argparse.ArgumentParser:
    """Options of ``emoreco listen``."""
    # not at import: MAIN.py imports this module
    from emoreco.runs.listen import RETRY_WAIT_MAX_S, RETRY_WAIT_MIN_S, STALL_S

    parser = argparse.ArgumentParser(
        prog="emoreco listen",
        description="Print one JSON line per new value while the audio arrives: "
                    '{"t": 12.5, "arousal": 0.31, "valence": null} (null: no value yet). '
                    "The values equal MAIN.py's for the same audio.")
    parser.add_argument("source", nargs="?", help="- (standard input: any format FFmpeg "
                        "reads from a pipe), an http:// or https:// URL (also HLS "
                        "playlists), a named pipe or an audio file")
    parser.add_argument("--device", metavar="NAME|INDEX",
                        help="record from this sound card instead (the live extra: "
                             "sounddevice, and the PortAudio library)")
    parser.add_argument("--list-devices", action="store_true",
                        help="list the sound card inputs and exit")
    add_model_options(parser)
    parser.add_argument("--start", type=finite_seconds, default=0.0,
                        help="first time step in seconds (default: 0)")
    parser.add_argument("--realtime", action="store_true",
                        help="read a file at its own pace (default: as fast as it decodes)")
    parser.add_argument("--osc", metavar="HOST:PORT",
                        help="also send each value as an OSC message /emoreco/<target> "
                             "[t, value] over UDP (lighting desks, visual tools; the live "
                             "extra: python-osc)")
    parser.add_argument("--serve", metavar="[HOST:]PORT",
                        help="serve a page that draws both curves as they arrive (loopback, "
                             "127.0.0.1 and ::1, unless a host is given: 0.0.0.0 or [::] "
                             "for the network; port 0: any free one, printed); it stays "
                             "served after the input ends, until Ctrl-C")
    parser.add_argument("--retries", type=int_at_least(0), default=10,
                        help="reconnection attempts in a row when a URL drops (default: "
                             "10; 0: end with an error at the first drop)")
    parser.add_argument("--retry-wait", type=seconds_at_least(RETRY_WAIT_MIN_S), default=1.0,
                        metavar="S",
                        help="seconds before the first reconnection attempt, doubled for "
                             f"each next one up to {RETRY_WAIT_MAX_S:g} (default: 1, at "
                             f"least {RETRY_WAIT_MIN_S:g})")
    parser.add_argument("--stall-timeout", type=seconds_at_least(0.5), default=STALL_S,
                        metavar="S",
                        help="a URL that sends nothing for this many seconds has dropped "
                             f"(default: {STALL_S:g})")
    parser.add_argument("--out-dir", type=Path,
                        help="also write MAIN.py's tables (TestSongPredicted.csv, "
                             "TestSongSummary.csv) here when the stream ends or on Ctrl-C")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the tables of an earlier run in --out-dir")
    return parser


def validate_listen(args: argparse.Namespace) -> None:
    """Option mistakes, before any work: no source or two, a malformed ``--osc`` or
    ``--serve``."""
    from emoreco.core.errors import ConfigError
    from emoreco.runs.listen import osc_address
    from emoreco.runs.live_server import serve_address

    if not args.list_devices and args.source is None and args.device is None:
        raise ConfigError("nothing to listen to: give a SOURCE (-, a URL or an audio file) "
                          "or --device NAME|INDEX (see --list-devices)")
    if args.source is not None and args.device is not None:
        raise ConfigError("give a SOURCE or --device, not both")
    if args.osc is not None:
        osc_address(args.osc)
    if args.serve is not None:
        serve_address(args.serve)


def listen_main(args: argparse.Namespace) -> int:
    """Stream the values to standard output; exit 0 at the end of the input or on Ctrl-C
    (the tables written first, with ``--out-dir``)."""
    from emoreco.core.extras import require
    from emoreco.model.predictor import Predictor
    from emoreco.outputs.tables import KNOWN_OUTPUTS, output_paths, write_tables
    from emoreco.runs.catalog import check_start
    from emoreco.data.provenance import demo_warning
    from emoreco.runs.listen import LiveSession, OscSender, source_label
    from emoreco.runs.live_server import LiveServer
    from emoreco.runs.stream_url import check_url, is_url
    from emoreco.runs.output_set import OutputSet, check_writable

    if args.list_devices:
        from emoreco.runs.listen import input_devices

        print("\n".join(input_devices()) or "no sound card input found")
        return 0
    if args.serve:
        require("aiohttp", "live", "--serve")
    source = args.source if args.source is not None else f"device {args.device}"
    if is_url(source):
        check_url(source)
    predictor = Predictor(models_dir(args), model_names(args))
    check_start(args.start, predictor.params.hop_s)  # on the models' grid, as in MAIN.py
    warning = demo_warning([meta.data for meta in predictor.metas.values()])
    osc = OscSender(args.osc, log.warning) if args.osc else None
    server = (LiveServer(args.serve, f"emoreco listen {source_label(source)}", warning,
                         predictor.band_levels) if args.serve else None)
    if server is not None:
        log.info("live page: %s", server.url)
    outputs = None
    if args.out_dir is not None:  # checked and held before the stream starts
        check_writable(args.out_dir)
        roles = output_paths(args.out_dir, pictures=False, report=False)
        outputs = OutputSet(args.out_dir, [path.name for path in roles.values()],
                            args.overwrite, known_names=KNOWN_OUTPUTS)

    def emit(record: dict, new: tuple[str, ...]) -> None:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()
        if osc is not None:
            osc.send(record, new)
        if server is not None:
            server.publish(record)

    session = LiveSession(source, predictor, emit, start_s=args.start,
                          realtime=args.realtime, keep_values=outputs is not None,
                          device=args.device, retries=args.retries,
                          retry_wait_s=args.retry_wait, stall_s=args.stall_timeout,
                          notice=log.warning)
    try:
        session.run()
        if server is not None:
            server.end()
            log.info("end of input; the page stays at %s until Ctrl-C", server.url)
            threading.Event().wait()
    except KeyboardInterrupt:
        log.info("stopped")
    except BrokenPipeError:  # the reader went away (`| head`): not an error of ours
        sys.stderr.close()
    finally:
        if server is not None:
            server.close()
        if osc is not None:
            osc.close()
        if outputs is not None:
            with outputs:
                curve = session.curve()
                if len(curve.times_s):
                    write_tables([curve], {role: outputs.path(path.name)
                                           for role, path in roles.items()})
                    written = outputs.commit({"source": source, "songs": 1,
                                              "start_s": args.start})
                    log.info("tables: %s", ", ".join(str(path) for path in written))
    return 0
