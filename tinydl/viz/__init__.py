"""tinydl.viz: look at what the engine does.

* ``draw_graph(tensor, ...)``: the autograd graph behind any tensor (ops, shapes, dtypes,
  optional value/gradient statistics, named parameters, modules collapsed on request);
* ``plot_model(model, ...)``: a model's layer graph (also ``tinydl.keras.utils.plot_model``);
* ``record_modules(model)``: tag the ops of a forward pass with the module that ran them.

Each returns or builds a ``Graph`` whose ``.source`` is Graphviz DOT text; ``.render(path)``
writes SVG/PNG/PDF through Graphviz's ``dot`` program when it is installed.

>>> import tinydl
>>> from tinydl.viz import draw_graph
>>> x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
>>> g = draw_graph((x * x).sum(), params={"x": x})
>>> g
<tinydl.viz.Graph 'autograd': 5 nodes, 4 edges>
>>> print(g.source.splitlines()[0])
digraph "autograd" {
"""
from ..module_trace import ModuleTrace as record_modules
from ..core.graph_view import graph_parents
from .autograd_graph import draw_graph
from .dot import Graph, dot_available
from .model_graph import plot_model

__all__ = ["draw_graph", "plot_model", "record_modules", "Graph", "dot_available", "graph_parents"]
