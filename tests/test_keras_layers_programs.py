"""Guide-style Keras programs (tests/tf_programs/) run unchanged but for the import rule."""
import os
import runpy

import pytest

HERE = os.path.join(os.path.dirname(__file__), "tf_programs")


@pytest.mark.parametrize("name", ["text_classification_conv1d.py", "image_augmentation.py", "save_and_load.py"])
def test_guide_program_runs(name, capsys):
    runpy.run_path(os.path.join(HERE, name), run_name="__main__")
    assert capsys.readouterr().out.strip()
