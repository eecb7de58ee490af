import os
import sys

os.environ.setdefault("CI", "true")  # code under test shows no progress bars
sys.path.insert(0, os.path.dirname(__file__))  # tests/games.py
