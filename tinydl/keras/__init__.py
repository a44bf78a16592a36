"""``tinydl.keras``: a thin tf.keras-shaped facade over tinydl.nn.

Change ``tensorflow`` to ``tinydl.tf`` (and ``keras`` to ``tinydl.keras``) in a Keras program's
imports and it runs (the import rule; ``tinydl.tf`` has TensorFlow's own names)::

    import tinydl.tf as tf
    from tinydl.tf.keras import layers, models
    model = tf.keras.Sequential([tf.keras.layers.Dense(units=1, input_shape=(1,))])

Submodules: ``layers`` (tinydl.nn's layers under their Keras names, ``Input``), ``models``
(``Sequential``, ``Model``), ``losses``, ``optimizers``, ``callbacks``, ``metrics``, ``datasets``,
``distribute`` (data-parallel ``fit`` over MPI), ``activations``, ``initializers``,
``regularizers``, ``constraints``, ``utils`` (``to_categorical``, ``pad_sequences``, ...),
``saving`` (``.keras`` files, ``register_keras_serializable``) ``ops`` (Keras 3's
``keras.ops``) with ``backend`` (``result_type``, ``floatx``, ``epsilon``). Nothing here implements a layer a second time. A model's parts live by job: ``graph`` (Input and the
functional graph), ``models`` (the containers), ``training``, ``outputs``, ``data_adapter`` and
``stream_adapter`` (compile, fit, evaluate, predict), ``summary``, ``saving`` (weights and weight files).

>>> import tinydl as tf
>>> tf.keras.layers.Dense is tf.nn.Dense
True
>>> tf.keras.utils.to_categorical([0, 2], num_classes=3).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""
from . import layers, losses, metrics, optimizers, callbacks, datasets, models, distribute
from . import activations, initializers, regularizers, constraints, utils, saving, ops, backend
from .layers import Input, InputLayer
from .models import Model, Sequential

__all__ = ["distribute", "layers", "models", "losses", "metrics", "optimizers", "callbacks", "datasets", "regularizers",
           "initializers", "activations", "constraints", "utils", "saving", "ops", "backend", "Input", "InputLayer", "Model",
           "Sequential"]
