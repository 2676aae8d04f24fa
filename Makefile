# Thin wrappers around ./dev, which does the work (see ./dev help).
.PHONY: run test lint help

run:
	./dev run

test:
	./dev test

lint:
	./dev lint

help:
	./dev help
