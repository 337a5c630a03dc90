"""beets plugin: emoreco's arousal and valence of every item, queryable and in the tags.

Enable it with ``plugins: emoreco`` in beets' config (``pip install 'emoreco[beets]'``; from
a checkout, also ``pluginpath: [/path/to/emoreco/beetsplug]``)::

    emoreco:
        models_dir: ~/emoreco-models   # default: as emoreco predict finds them
        allow_demo: no                 # models of the synthetic demo corpus are refused
        auto: no                       # analyse on import
        jobs: -1                       # as MAIN.py's --jobs; scheduler: tcp://... for Dask

``beet emoreco [-f] [-w] [QUERY]`` stores float attributes ``emoreco_arousal``,
``emoreco_valence`` (song means on DEAM's [-1, 1] scale) and ``emoreco_<target>_start`` /
``_end`` (first and last 15 s), and ``emoreco_models``; ``-w`` also writes them into the
files as the tags of ``emoreco tag`` (EMORECO_AROUSAL, ...), which beets reads back on
import. Items analysed by the same models are skipped unless ``-f``. The attributes are
typed, so ``beet ls emoreco_arousal:0.3..`` compares numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from beets import ui
from beets.dbcore import types
from beets.plugins import BeetsPlugin
from mediafile import MediaField, MP3DescStorageStyle, MP4StorageStyle, StorageStyle

from emoreco.core.errors import EmorecoError
from emoreco.model.targets import TARGETS
from emoreco.outputs.tags import MODELS_TAG, MP4_FREEFORM, TAG_PREFIX, TAG_STATISTICS

# beets attribute -> (summary key, tag name): one per target and statistic, from TARGETS
VALUE_FIELDS = {f"emoreco_{target}{suffix.lower()}": (f"{target}_{statistic}",
                                                      f"{TAG_PREFIX}{target.upper()}{suffix}")
                for target in TARGETS for statistic, suffix in TAG_STATISTICS.items()}
MODELS_FIELD = "emoreco_models"
DECIMALS = 3  # as the tags: far below the models' error


def _media_field(tag: str, out_type: type) -> MediaField:
    """The tag in every format's storage, as ``emoreco tag`` writes it (floats with
    :data:`DECIMALS` decimals; mediafile's default is 2)."""
    return MediaField(MP3DescStorageStyle(tag, float_places=DECIMALS),
                      MP4StorageStyle(MP4_FREEFORM + tag, float_places=DECIMALS),
                      StorageStyle(tag, float_places=DECIMALS), out_type=out_type)


class EmorecoPlugin(BeetsPlugin):
    """``beet emoreco``, the typed attributes, and analysis on import."""

    item_types = {name: types.NullFloat(DECIMALS) for name in VALUE_FIELDS} | {
        MODELS_FIELD: types.STRING}

    def __init__(self) -> None:
        super().__init__()
        self.config.add({"auto": False, "models_dir": "", "force": False, "jobs": -1,
                         "scheduler": "", "allow_demo": False})
        for name, (_, tag) in VALUE_FIELDS.items():
            self.add_media_field(name, _media_field(tag, float))
        self.add_media_field(MODELS_FIELD, _media_field(MODELS_TAG, str))
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]

    def commands(self) -> list[ui.Subcommand]:
        command = ui.Subcommand("emoreco", help="analyse arousal and valence with emoreco")
        command.parser.add_option("-f", "--force", action="store_true", default=False,
                                  help="analyse items already analysed by these models")
        command.parser.add_option("-w", "--write", action="store_true", default=False,
                                  help="also write the values into the files' tags")
        command.func = self.command
        return [command]

    def command(self, lib: Any, opts: Any, args: list[str]) -> None:
        self.analyse(list(lib.items(args)), opts.write,
                     opts.force or self.config["force"].get(bool))

    def imported(self, session: Any, task: Any) -> None:
        """Analyse the items an import adds (``auto: yes``); a problem with the models is
        a warning, so the import itself goes on."""
        try:
            self.analyse(list(task.imported_items()), ui.should_write(),
                         self.config["force"].get(bool))
        except ui.UserError as exc:
            self._log.warning("{}; the imported items are not analysed", exc)

    def analyse(self, items: list[Any], write: bool, force: bool) -> None:
        """Analyse ``items`` (on emoreco's engine for the work), store and maybe write."""
        from emoreco.model.predictor import Predictor
        from emoreco.runs.tagging import analyse_files, check_not_demo, models_digest

        from emoreco.runs.model_store import default_models_dir

        configured = self.config["models_dir"].get(str)
        models_dir = default_models_dir(Path(configured).expanduser() if configured else None)
        try:
            predictor = Predictor(models_dir)
            check_not_demo(predictor, self.config["allow_demo"].get(bool),
                           "allow_demo: yes in the emoreco section of beets' config")
        except EmorecoError as exc:
            raise ui.UserError(f"emoreco: {exc}") from None
        models = models_digest(predictor.metas)
        todo = {Path(item.filepath): item for item in items
                if force or item.get(MODELS_FIELD) != models}
        if len(todo) < len(items):
            self._log.info("{} items already analysed by these models (-f redoes them)",
                           len(items) - len(todo))
        scheduler = self.config["scheduler"].get(str) or None
        try:
            results = analyse_files(list(todo), predictor, models_dir, {},
                                    self.config["jobs"].get(int), scheduler, progress=False)
            for path, curve in results:
                item = todo[path]
                if isinstance(curve, str):
                    self._log.warning("{}", curve)
                    continue
                summary = curve.summary()
                for name, (key, _) in VALUE_FIELDS.items():
                    value = float(summary[key])
                    item[name] = round(value, DECIMALS) if value == value else None
                item[MODELS_FIELD] = models
                item.store()
                if write:
                    item.try_write()
                self._log.info("{}: arousal {:+.3f}, valence {:+.3f}", item.filepath,
                               summary["arousal_mean"], summary["valence_mean"])
        except EmorecoError as exc:
            raise ui.UserError(f"emoreco: {exc}") from None
