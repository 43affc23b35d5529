# AMI Portal: `make run` starts the whole system, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
PY := $(BIN)/python
REQS := requirements.txt requirements-dev.txt constraints.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQS) | sha256sum | cut -c1-12)

export PATH := $(BIN):$(PATH)

.PHONY: run test smoke lint format migrate demo bench clean static-vendor

$(STAMP): $(REQS)
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.12 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 12) else None'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	rm -f $(VENV)/.installed-*
	touch $@

# Front-end libraries: installed from the npm lock file, served from static/vendor (no CDN).
# Without npm the portal still runs: every chart has a data table, which is what shows then.
# The source map goes with the script: the script names it (sourceMappingURL), and
# collectstatic's manifest storage fails on a reference it cannot find, which made every
# production page answer 500. Copying it (rather than cutting the line) keeps the vendored
# file byte for byte the one npm installed, and browsers fetch the map only for devtools.
# npm ci also installs the dev dependency axe-core (node_modules/axe-core), which the browser
# tests load for their accessibility checks; it is never copied into static/.
VENDOR_JS := static/vendor/chart.umd.min.js
VENDOR_MAP := static/vendor/chart.umd.min.js.map
$(VENDOR_JS) $(VENDOR_MAP) &: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && mkdir -p static/vendor && \
		cp node_modules/chart.js/dist/chart.umd.min.js.map $(VENDOR_MAP) && \
		cp node_modules/chart.js/dist/chart.umd.min.js $(VENDOR_JS) && \
		cp node_modules/chart.js/LICENSE.md static/vendor/chart.js.LICENSE.md; \
	elif [ "$${CI:-}" = "true" ]; then \
		echo "CI=true but npm is missing: the chart library cannot be installed" >&2; exit 1; \
	else \
		echo "note: npm not found; charts will show as data tables (install Node.js and npm for charts)"; \
	fi

static-vendor: $(VENDOR_JS) $(VENDOR_MAP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

# AMI_DEMO_LIVE_READINGS: the demo's simulated meters keep producing readings (beat, every 5 minutes).
run: demo $(VENDOR_JS) $(VENDOR_MAP)
	AMI_DEMO_LIVE_READINGS=true $(BIN)/honcho --procfile Procfile start

test: $(STAMP) $(VENDOR_JS) $(VENDOR_MAP)
	$(PY) tools/test_services.py -- $(PY) -m pytest $(PYTEST_ARGS)

# A release built as production builds it (vendor step, collectstatic with the manifest
# storage, gunicorn under the production profile), its main pages fetched: tools/production_smoke.py.
smoke: $(STAMP)
	$(PY) tools/test_services.py -- $(PY) tools/production_smoke.py

bench: $(STAMP)
	$(PY) bench/run.py $(BENCH)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache
