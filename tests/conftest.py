"""Test session setup: no hub access anywhere, headless plotting."""

import os

import matplotlib

from helpers.settings import enforce_offline

matplotlib.use("Agg")
enforce_offline()
os.environ.setdefault("MPLBACKEND", "Agg")
