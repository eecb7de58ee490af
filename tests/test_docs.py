"""The documentation's generated parts match the code they describe."""

from __future__ import annotations

import os

from odegan_jax import config as config_lib
from odegan_jax.tools import config_reference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_config_key_has_a_comment():
    comments = config_reference._comments()
    keys = [k for k, _ in config_reference._leaves(config_lib.base_config())]
    missing = [k for k in keys if not comments.get(k)]
    assert not missing, f"keys of base_config without a comment in config.py: {missing}"


def test_the_configuration_page_lists_every_key_as_generated():
    with open(os.path.join(ROOT, config_reference.DOC), encoding="utf-8") as f:
        page = f.read()
    assert config_reference.render(page) == page, (
        "docs/configuration.md is out of date: run "
        "python -m odegan_jax.tools.config_reference --write"
    )
    for key, _ in config_reference._leaves(config_lib.base_config()):
        assert f"| `{key}` |" in page


def test_the_table_shows_a_changed_default(monkeypatch):
    base = config_lib.base_config

    def changed():
        c = base()
        c.rule.h = 0.123
        return c

    monkeypatch.setattr(config_lib, "base_config", changed)
    assert "| `rule.h` | `0.123` |" in config_reference.table()
