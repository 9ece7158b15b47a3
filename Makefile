# The two set-up commands are `make run` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint clean bench soak

install: $(STAMP)

# Re-installs only when the project's metadata changes, so `make test` stays fast.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: install
	mkdir -p var
	$(BIN)/scimd bootstrap --tenant default --host $(HOST) --port $(PORT)
	$(BIN)/scimd serve --host $(HOST) --port $(PORT)

# Two workers (the machine's cores), each taking whole files, so a module's fixtures (a live
# server, a browser, tenant B of the isolation test) are built once. PYTEST_WORKERS=0: serial.
PYTEST_WORKERS ?= 2
test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The load benchmark (bench/run.py): a few minutes; BENCH_ARGS=--full for 1,000,000 users.
# Then spreadsheet imports against /Bulk (bench/imports.py): two minutes.
# Its baseline (scim2-server) comes with the `bench` extra.
bench: install
	$(BIN)/python -c "import scim2_server.cursor" 2>/dev/null || \
		$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.imports
	$(BIN)/python -m bench.grid

# The soak (bench/soak.py): 10 minutes of steady mixed SCIM load per backend (SQLite, then
# PostgreSQL) with a fault every minute; fails on a lost write or an error outside the fault
# windows. SOAK_ARGS for options, e.g. SOAK_ARGS="--backend sqlite --minutes 3 --json".
soak: install
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
