# The README's contract: `make run` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
SIZES  ?= 2000,20000,100000

.PHONY: run test lint bench quality mutation demo venv dev chromium postgres node java clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.req-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements-spark.txt $(VENV)/.req-installed
	$(BIN)/pip install --quiet -r requirements-dev.txt -r requirements-spark.txt
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

# The tests start their own PostgreSQL server in a temp dir from Debian's binaries; make test never skips them.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian postgresql for the operational-store and import tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else \
	    echo "The tests need PostgreSQL's server binaries: run 'sudo apt-get install postgresql'." >&2; exit 1; \
	  fi; \
	fi

# The single sign-on tests run a real OpenID provider on Node (installed from npm by the tests).
node:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian nodejs and npm for the single sign-on tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "The single sign-on tests need Node.js: run 'sudo apt-get install nodejs npm'." >&2; exit 1; \
	  fi; \
	fi

# The Spark parity tests start a local Spark, which needs a Java runtime (17 or newer).
java:
	@if ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Debian openjdk-17-jre-headless for the Spark tests..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else \
	    echo "The Spark tests need Java: run 'sudo apt-get install openjdk-17-jre-headless'." >&2; exit 1; \
	  fi; \
	fi

demo: venv
	$(BIN)/python cli.py migrate
	$(BIN)/python cli.py demo --if-empty

run: demo
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT)

# Tests run in a new random order each time (pytest-randomly; the header prints the seed):
# `make test SEED=1234` repeats an order, `make test SEED=last` the previous run's.
# They run in JOBS worker processes (pytest-xdist, one test file per worker at a time, so a module's
# fixtures are built once); `make test JOBS=1` runs them in one process.
SEED ?=
JOBS ?= 2
test: dev chromium postgres node java
	CSAI_REQUIRE_POSTGRES=1 CSAI_REQUIRE_SPARK=1 $(BIN)/python -m pytest -q -p randomly --durations=25 \
	    $(if $(filter-out 1,$(JOBS)),-n $(JOBS) --dist loadfile,-p no:xdist) $(if $(SEED),--randomly-seed=$(SEED))

lint: dev
	$(BIN)/ruff check .

# make bench ENGINE=spark: the batch stages on a local Spark beside the embedded engine (bench/spark_run.py)
bench: dev
	$(BIN)/python -m $(if $(filter spark,$(ENGINE)),bench.spark_run,bench.run) --sizes $(SIZES)
	$(if $(filter spark,$(ENGINE)),,$(BIN)/python -m bench.opstore)

quality: dev
	$(BIN)/python -m bench.model_quality

# Mutation scores per module (not part of `make test`: it reruns tests for every mutant and takes hours).
# MODULES narrows the run, e.g. `make mutation MODULES=data/access.py`; MUTATION_FUNCTIONS="rule_mask can_act"
# mutates only those functions of it.
MODULES ?=
mutation: dev postgres
	CSAI_REQUIRE_POSTGRES=1 $(BIN)/python -m tests.support.mutation $(MODULES)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants mutation-results.json
