# Two set-up commands on a fresh machine (see README):
#   make demo   - demo corpus -> features -> arousal CNN -> valence LSTM -> predictions
#   make test   - the test suite
# Both create .venv and install the pinned requirements on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEMO   := data/demo_deam

.PHONY: demo test bench clean-demo

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m emoreco demo --out $(DEMO) --test-songs-dir data/test_songs
	$(PY) MAIN_arousal.py --deam-dir $(DEMO)
	$(PY) MAIN_valence.py --deam-dir $(DEMO)
	$(PY) MAIN.py data/test_songs --overwrite

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_features.py
	$(PY) benchmarks/bench_training.py
	$(PY) benchmarks/bench_predict.py

clean-demo:
	rm -rf $(DEMO) data/DEAM_mfccs data/DEAM_chroma data/test_songs/*.mp3 \
	       data/test_songs/*.wav data/test_songs/*.flac data/test_songs/*.ogg
