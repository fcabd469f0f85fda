# geo-mz single entry point. `make run` and `make test` set everything up from nothing (idempotent).
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
PY := .venv/bin/python

.PHONY: setup run test test-fast lint format bench bench-scale demo-build clean-db

setup:
	scripts/setup.sh

run: setup
	$(PY) manage.py runserver $(HOST):$(PORT)

test:
	scripts/setup.sh --no-demo
	$(PY) -m pytest

test-fast:
	$(PY) -m pytest -m "not browser"

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench: setup
	$(PY) -m bench

# Million-feature benchmarks (tiles, OGC API, search, export, import) on their own database.
SCALE_DB_URL := postgres://geo_mz:geo_mz@127.0.0.1:5432/geo_mz_scale
bench-scale:
	GEO_MZ_DB_NAME=geo_mz_scale DATABASE_URL=$(SCALE_DB_URL) scripts/setup.sh --scale
	DATABASE_URL=$(SCALE_DB_URL) $(PY) -m bench scale

demo-build:
	$(PY) -m gis_data.generate
