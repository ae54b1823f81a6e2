# The README's contract: `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
SIZES  ?= 2000,20000,100000

.PHONY: run test lint bench quality demo venv dev chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.req-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.req-installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.req-installed
dev: $(VENV)/.dev-installed

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian chromium for the browser tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium'." >&2; exit 1; \
	  fi; \
	fi

demo: venv
	$(BIN)/python cli.py migrate
	$(BIN)/python cli.py demo --if-empty

run: demo
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

test: dev chromium
	$(BIN)/python -m pytest -q

lint: dev
	$(BIN)/ruff check .

bench: dev
	$(BIN)/python -m bench.run --sizes $(SIZES)
	$(BIN)/python -m bench.opstore

quality: dev
	$(BIN)/python -m bench.model_quality

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
