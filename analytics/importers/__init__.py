"""Importers of public learning-analytics datasets into the teaching model and the event store."""
