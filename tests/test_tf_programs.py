"""Guide-style TensorFlow/Keras programs (tests/tf_programs/) run as written, but for the import rule."""
import os
import runpy

import pytest

HERE = os.path.join(os.path.dirname(__file__), "tf_programs")
PROGRAMS = sorted(f for f in os.listdir(HERE) if f.endswith(".py"))


def test_programs_use_only_the_import_rule():
    for name in PROGRAMS:
        text = open(os.path.join(HERE, name)).read()
        assert "import tensorflow" not in text and "import tinydl.tf as tf" in text, name
        assert "import tinydl as" not in text, name


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_runs(name, capsys):
    import tinydl
    tinydl.manual_seed(0)
    runpy.run_path(os.path.join(HERE, name), run_name="__main__")
    assert capsys.readouterr().out.strip()
