# Two commands for a fresh machine:  `make demo` (the main job on the demo corpus) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := data/demo
DEMO_N ?= 960
ALIGNER := outputs/aligner/tiny
ASR := outputs/asrcnn
REPORT := outputs/demo

.PHONY: setup demo test lint clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt torch
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

# demo corpus (espeak speech with true boundaries) -> Matcha mels -> train the tiny Wav2Vec2 aligner
# (which ends by Viterbi-training its acoustic stage on the corpus) -> durations + TextGrids -> accuracy
# table -> comparison with the CTC stage alone (--method mel), StyleTTS2's ASRCNN and the plain CTC
# forced_align baseline (report with pictures). Nothing but aligner.evaluate reads reference/.
$(DEMO)/metadata.csv: | setup
	$(PY) -m aligner.demo.corpus --out $(DEMO) --n $(DEMO_N) --speakers 8

$(ALIGNER)/model.safetensors: $(DEMO)/metadata.csv
	$(PY) -m aligner.mels --corpus $(DEMO)
	$(PY) aligner/train.py configs/aligner/tiny.yaml --corpus $(DEMO) --output_dir $(ALIGNER)

$(ASR)/epoch_00006.pth: $(DEMO)/metadata.csv
	$(PY) -m aligner.asrcnn.train --corpus $(DEMO) --config aligner/asrcnn/demo.yml --out-dir $(ASR) --epochs 6

demo: $(ALIGNER)/model.safetensors $(ASR)/epoch_00006.pth
	$(PY) -m matcha.utils.extract_durations --corpus $(DEMO) --checkpoint $(ALIGNER) --textgrid
	$(PY) -m aligner.evaluate --corpus $(DEMO) --json $(REPORT)/evaluation.json
	$(PY) -m matcha.utils.extract_durations --corpus $(DEMO) --checkpoint $(ALIGNER) --method mel \
		--out-dir $(REPORT)/ctc_mel
	$(PY) -m matcha.utils.extract_durations --corpus $(DEMO) --checkpoint $(ALIGNER) --method forced_align \
		--out-dir $(REPORT)/forced_align
	$(PY) -m matcha.utils.extract_durations --corpus $(DEMO) --aligner asrcnn --checkpoint $(ASR)/epoch_00006.pth \
		--asr-config aligner/asrcnn/demo.yml --out-dir $(REPORT)/asrcnn
	$(PY) -m aligner.evaluate.compare --corpus $(DEMO) \
		--durations $(DEMO)/durations $(REPORT)/ctc_mel $(REPORT)/asrcnn $(REPORT)/forced_align \
		--names wav2vec2 ctc_mel asrcnn forced_align --report $(REPORT)/comparison
	@echo "durations: $(DEMO)/durations  TextGrids: $(DEMO)/textgrids  report and pictures: $(REPORT)/comparison"
	$(PY) -m aligner.review --corpus $(DEMO) \
		--durations $(DEMO)/durations $(REPORT)/ctc_mel $(REPORT)/asrcnn $(REPORT)/forced_align \
		--names wav2vec2 ctc_mel asrcnn forced_align --out $(REPORT)/review

# make real: a human voice. Debian's asterisk-core-sounds-en (568 prompts of one professional speaker, 8 kHz,
# CC-BY-SA-3.0; needs apt-get and dpkg-deb, or the two .deb files copied into $(REAL)/debs) -> a 24 kHz corpus
# -> Matcha mels -> the tiny aligner trained on it -> durations + TextGrids -> a report without truth:
# aligned, skipped by cause, the least confident, token figures and pictures ($(REAL_REPORT)/report.md).
# About 11 min on 2 CPU cores after make setup. Not part of the tests (it needs apt).
REAL := data/asterisk
REAL_ALIGNER := outputs/asterisk/aligner
REAL_REPORT := outputs/asterisk/report
.PHONY: real
$(REAL)/metadata.csv: | setup
	$(PY) -m aligner.demo.asterisk --out $(REAL)

$(REAL_ALIGNER)/model.safetensors: $(REAL)/metadata.csv
	$(PY) -m aligner.mels --corpus $(REAL)
	$(PY) aligner/train.py configs/aligner/tiny.yaml --corpus $(REAL) --output_dir $(REAL_ALIGNER)

real: $(REAL_ALIGNER)/model.safetensors
	$(PY) -m matcha.utils.extract_durations --corpus $(REAL) --checkpoint $(REAL_ALIGNER) --textgrid \
		|| test $$? -eq 1  # exit 1: some utterances skipped, named in the report
	$(PY) -m aligner.evaluate.corpus_report --corpus $(REAL) --out $(REAL_REPORT)
	@echo "durations: $(REAL)/durations  TextGrids: $(REAL)/textgrids  report and pictures: $(REAL_REPORT)"
	$(PY) -m aligner.review --corpus $(REAL) --durations $(REAL)/durations --out $(REAL_REPORT)/review

# make matcha-check: upstream Matcha-TTS (matcha-tts 0.0.7.2, from PyPI) and this project in one venv
# (.venv-matcha), on upstream's own two recipes (scripts/matcha_check.py): an upstream-shaped Matcha root
# (outputs/matcha_check/upstream-root) with upstream's configs/data/ljspeech.yaml (filelist paths changed) and
# vctk.yaml (as it is) from scripts/matcha_fixture/, demo speech resampled to 22.05 kHz in LJSpeech's layout
# (wav_path|text) and VCTK's (wav_path|spk|text, 4 speakers), no mel files; from that root python -m
# aligner.train --data_config and python -m matcha.utils.extract_durations --data-config; then upstream's
# text_to_sequence gives every duration file's length, upstream's TextMelDataModule (hydra-composed from the
# YAML) loads them and MatchaTTS trains 50 CPU steps on them. Run in both install orders: this project over
# upstream, then upstream reinstalled over this project. About 10 min on 2 CPU cores once .venv-matcha exists.
MVENV := .venv-matcha
.PHONY: matcha-check
$(MVENV)/.installed: constraints.txt
	$(PYTHON) -m venv $(MVENV)
	$(MVENV)/bin/pip install -q -c constraints.txt torch
	$(MVENV)/bin/pip install -q -c constraints.txt matcha-tts==0.0.7.2
	touch $@

matcha-check: $(MVENV)/.installed
	$(MVENV)/bin/pip install -q -c constraints.txt .
	$(MVENV)/bin/python scripts/matcha_check.py --work outputs/matcha_check
	$(MVENV)/bin/pip install -q -c constraints.txt --force-reinstall --no-deps matcha-tts==0.0.7.2
	$(MVENV)/bin/python scripts/matcha_check.py --imports-only

# make bench: benchmarks/*.py write benchmarks/results/*.json and docs/benchmark-results.md (tables with date, machine,
# versions); 18 min on 2 CPU cores. Training time to PER (tiny.yaml, 960 utterances), extraction
# speed by stage, the CLI's and training data preparation's peak memory over a BENCH_N-utterance demo corpus (corpora built in
# outputs/benchmarks/ on first use), MAS per backend (CUDA ones where present), and the accuracy of
# make demo's aligners (run make demo first; a folder it has not written is skipped with a note).
BENCH := benchmarks/results
BENCH_N ?= 3000
.PHONY: bench
bench: setup
	$(PY) benchmarks/train_tiny.py --json $(BENCH)/train_tiny.json -- --report_to none
	$(PY) benchmarks/extract_stages.py --n $(BENCH_N) --json $(BENCH)/extract_stages.json
	$(PY) benchmarks/memory.py --n $(BENCH_N) --json $(BENCH)/memory.json
	$(PY) benchmarks/memory.py --stage training-data --n $(BENCH_N) --json $(BENCH)/memory-training-data.json
	$(PY) benchmarks/mas.py --json $(BENCH)/mas.json
	$(PY) benchmarks/accuracy.py --corpus $(DEMO) --aligner wav2vec2=$(DEMO)/durations --aligner ctc_mel=$(REPORT)/ctc_mel \
		--aligner forced_align=$(REPORT)/forced_align --aligner asrcnn=$(REPORT)/asrcnn --json $(BENCH)/accuracy.json
	$(PY) benchmarks/sample_rates.py --corpus $(DEMO) --checkpoint $(ALIGNER) --json $(BENCH)/sample_rates.json
	$(PY) benchmarks/report.py --results $(BENCH)

# Debian's chromium, which tests/test_review.py drives through Playwright: installed only where it is missing
# (apt-get as root, else through sudo).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
.PHONY: browser
browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for tests/test_review.py"; \
		$(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

FLITE := /usr/bin/flite
.PHONY: flite
flite:
	@test -x $(FLITE) || { echo "installing Debian's flite for tests/test_flite.py (the second synthesiser)"; \
		$(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q flite; }

test: setup browser flite
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(MVENV) data outputs
