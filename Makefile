# Two set-up commands on a fresh machine (see README):
#   make demo   - demo corpus -> features -> arousal CNN -> valence LSTM -> predictions
#   make test   - the test suite
# Both create .venv, install the pinned requirements and the package (editable) on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
CORE   := $(VENV)/.core-stamp
STAMP  := $(VENV)/.installed-stamp
DEMO   := data/demo_deam
DEAM   ?= data/DEAM
README_FILES := readme_files

.PHONY: demo test docs bench deam corpora install clean-demo

# The core install and the catalog extra (prediction, Dask workers), then everything.
$(CORE): requirements.txt requirements-catalog.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt -r requirements-catalog.txt
	$(PIP) --no-deps -e .
	touch $(CORE)

$(STAMP): $(CORE) requirements-training.txt requirements-live.txt requirements-library.txt requirements-docs.txt requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	touch $(STAMP)

# The environment of a Dask worker machine: prediction and Dask, no TensorFlow.
install: $(CORE)

demo: $(STAMP)
	$(PY) -m emoreco demo --out $(DEMO) --test-songs-dir data/test_songs
	$(PY) MAIN_arousal.py --deam-dir $(DEMO) --plots-dir $(README_FILES) --overwrite
	$(PY) MAIN_valence.py --deam-dir $(DEMO) --plots-dir $(README_FILES) --overwrite
	$(PY) MAIN.py data/test_songs --out-dir $(README_FILES) --overwrite
	@if command -v chromium >/dev/null; then scripts/screenshot_report.sh; \
	 else echo "chromium not installed: readme_files/report_screenshot.png not refreshed"; fi

# Not one of the two set-up commands: needs internet (about 1.35 GB) and hours of CPU.
# Fetches the official archives into $(DEAM), trains both models with the random-song
# protocol (replacing the demo models) and writes their metrics table for the README.
deam: $(STAMP)
	$(PY) -m emoreco fetch-deam --dest $(DEAM)
	$(PY) MAIN_arousal.py --deam-dir $(DEAM) --plots-dir $(README_FILES) --overwrite
	$(PY) MAIN_valence.py --deam-dir $(DEAM) --plots-dir $(README_FILES) --overwrite
	$(PY) scripts/metrics_table.py models/arousal models/valence > $(README_FILES)/deam_metrics.md
	$(PY) -m emoreco models pack models dist/emoreco-models-deam.zip

# Not one of the two set-up commands (12 minutes here): the README's "Other corpora"
# commands on generated corpora (a PMEmo2019-layout corpus and a user's CSV, beside the
# demo DEAM corpus), and their metrics table for the README.
CORPORA := data/corpora
corpora: $(STAMP)
	$(PY) -m emoreco demo --out $(DEMO) --test-songs-dir data/test_songs
	$(PY) -m emoreco demo --layout pmemo --out $(CORPORA)/pmemo --clips 60 --full-songs 0 \
	    --test-songs 0 --seed 11
	$(PY) -m emoreco demo --layout csv --out $(CORPORA)/mine --clips 30 --full-songs 0 \
	    --test-songs 0 --seed 12
	set -e; for target in arousal valence; do \
	  common="--models-dir $(CORPORA)/models --plots-dir $(CORPORA)/plots --overwrite --quiet"; \
	  $(PY) MAIN_$$target.py --corpus pmemo:$(CORPORA)/pmemo --name $${target}_pmemo $$common; \
	  $(PY) MAIN_$$target.py --corpus deam:$(DEMO) --test-corpus pmemo:$(CORPORA)/pmemo \
	      --name $${target}_deam_to_pmemo $$common; \
	  $(PY) MAIN_$$target.py --corpus deam:$(DEMO) --corpus pmemo:$(CORPORA)/pmemo \
	      --name $${target}_deam_pmemo $$common; \
	  $(PY) MAIN_$$target.py --corpus csv:$(CORPORA)/mine/annotations.csv \
	      --name $${target}_csv $$common; \
	done
	$(PY) scripts/metrics_table.py $(foreach t,arousal valence,$(foreach n,pmemo deam_to_pmemo \
	    deam_pmemo csv,$(CORPORA)/models/$(t)_$(n))) > $(README_FILES)/corpora_metrics.md

test: $(STAMP)
	$(PY) -m pytest

# The documentation site, offline, into site/ (strict: a broken link or reference fails;
# make test builds it too, in tests/test_docs.py, with every example run).
docs: $(STAMP)
	$(PY) -m mkdocs build --strict

bench: $(STAMP)
	$(PY) benchmarks/bench_vs_vibenet.py
	$(PY) benchmarks/bench_decode.py
	$(PY) benchmarks/bench_engines.py
	$(PY) benchmarks/bench_live.py
	$(PY) benchmarks/bench_live_server.py
	$(PY) benchmarks/bench_playlist_flow.py
	$(PY) benchmarks/bench_tag.py
	$(PY) benchmarks/bench_band.py
	$(PY) benchmarks/bench_features.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_predict.py
	$(PY) benchmarks/bench_report.py
	$(PY) benchmarks/bench_catalog.py
	$(PY) benchmarks/bench_install.py
	$(PY) benchmarks/plot_results.py

clean-demo:
	rm -rf $(DEMO) data/DEAM_mfccs data/DEAM_chroma data/test_songs/*.mp3 \
	       data/test_songs/*.wav data/test_songs/*.flac data/test_songs/*.ogg
