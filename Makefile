# geo-mz single entry point. `make run` and `make test` set everything up from nothing (idempotent).
SHELL := /bin/bash
HOST ?= 127.0.0.1
PORT ?= 8000
PY := .venv/bin/python

.PHONY: setup run test test-fast lint format bench demo-build clean-db

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

demo-build:
	$(PY) -m gis_data.generate
