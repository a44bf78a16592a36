"""Guide-style TensorFlow/Keras programs (tests/tf_programs/) run as written, but for the import rule."""
import os
import re
import runpy

import pytest

HERE = os.path.join(os.path.dirname(__file__), "tf_programs")
# this file's programs (tests/test_keras_layers_programs.py runs the others in the folder)
PROGRAMS = ["beginner_quickstart.py", "custom_training_loop.py", "data_pipeline_fit.py", "subclassed_layer_model.py",
            "cnn_callbacks.py", "functional_multi_io.py", "transfer_frozen_base.py", "masked_bidirectional_lstm.py",
            "lr_schedule_custom_callback.py", "keras3_ops_train_step.py"]


def test_programs_use_only_the_import_rule():
    for name in sorted(f for f in os.listdir(HERE) if f.endswith(".py")):
        text = open(os.path.join(HERE, name)).read()
        imports = [l for l in text.splitlines() if l.startswith(("import ", "from "))]
        for line in imports:  # tensorflow/keras only under the import rule's names
            assert not re.match(r"(import|from) (tensorflow|keras)\b", line), (name, line)
            assert not line.startswith("import tinydl as"), (name, line)


@pytest.mark.parametrize("name", PROGRAMS)
def test_program_runs(name, capsys):
    import tinydl
    tinydl.manual_seed(0)
    runpy.run_path(os.path.join(HERE, name), run_name="__main__")
    assert capsys.readouterr().out.strip()
