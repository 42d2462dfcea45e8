"""Flavors: how one kind of model is written to and read from a model directory."""
