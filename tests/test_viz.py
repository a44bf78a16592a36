"""tinydl.viz: draw_graph's DOT text parsed and checked on known graphs; plot_model for both APIs."""
import re
import shutil

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinydl
from tinydl import nn
from tinydl.keras import layers as kl
from tinydl.viz import draw_graph, plot_model, record_modules

_NODE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[(.*)\];$')
_EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"(?: \[.*\])?;$')
_ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_dot(source):
    """{node id: {attr: value}} and [(tail, head)] from the DOT text draw_graph/plot_model write."""
    lines = source.strip().splitlines()
    assert lines[0].startswith("digraph ") and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2)))
            continue
        m = _NODE.match(line)
        if m and m.group(1) not in ("graph", "node", "edge"):
            nodes[m.group(1)] = {k: v.replace("\\n", "\n") for k, v in _ATTR.findall(m.group(2))}
    for a, b in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} names an undeclared node"
    return nodes, edges


def by_label(source):
    """Edges as (first label line of tail, first label line of head), for readable assertions."""
    nodes, edges = parse_dot(source)
    first = {k: v["label"].split("\n")[0] for k, v in nodes.items()}
    return nodes, sorted((first[a], first[b]) for a, b in edges)


def test_known_graph_nodes_and_edges():
    x = tinydl.Tensor(np.ones((4, 3), np.float32))
    w = tinydl.Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    b = tinydl.Tensor(np.zeros(2, np.float32), requires_grad=True)
    loss = tinydl.tanh(x @ w + b).sum()
    nodes, edges = by_label(draw_graph(loss, params={"x": x, "w": w, "b": b}).source)
    labels = sorted(v["label"] for v in nodes.values())
    assert labels == sorted(["x\n(4, 3) float32", "w\n(3, 2) float32", "b\n(2,) float32", "MatMul",
                             "Add", "Tanh", "Sum", "(4, 2) float32", "(4, 2) float32", "(4, 2) float32",
                             "() float32"])
    assert edges == sorted([("x", "MatMul"), ("w", "MatMul"), ("MatMul", "(4, 2) float32"),
                            ("(4, 2) float32", "Add"), ("b", "Add"), ("Add", "(4, 2) float32"),
                            ("(4, 2) float32", "Tanh"), ("Tanh", "(4, 2) float32"),
                            ("(4, 2) float32", "Sum"), ("Sum", "() float32")])
    colors = {v["label"].split("\n")[0]: v["fillcolor"] for v in nodes.values()}
    assert colors["x"] == "lightgrey" and colors["w"] == "lightblue" and colors["() float32"] == "palegreen"


def test_shared_input_is_one_node_with_an_edge_to_each_user():
    x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
    y = tinydl.exp(x) + tinydl.tanh(x)
    nodes, edges = by_label(draw_graph(y, params={"x": x}).source)
    assert sum(v["label"].startswith("x\n") for v in nodes.values()) == 1
    assert ("x", "Exp") in edges and ("x", "Tanh") in edges


def test_names_from_module_from_tensor_names_and_dtypes():
    tinydl.manual_seed(0)
    model = nn.Sequential(nn.Dense(4, in_features=3), nn.Dense(1, in_features=4))  # Keras's kernel (in, out)
    out = model(tinydl.Tensor(np.ones((2, 3), np.float32)))
    src = draw_graph(out, module=model).source
    for name in ("0.kernel\n(3, 4) float32", "0.bias\n(4,) float32", "1.kernel\n(4, 1) float32", "1.bias\n(1,) float32"):
        assert any(v["label"] == name for v in parse_dot(src)[0].values()), name
    # without module=, a Parameter shows its own name ("layer/kernel")
    labels = [v["label"] for v in parse_dot(draw_graph(out).source)[0].values()]
    assert f"{model[0].name}/kernel\n(3, 4) float32" in labels
    # a user dict wins over the module's names
    labels = [v["label"] for v in parse_dot(draw_graph(out, module=model, params={"W1": model[0].kernel}).source)[0].values()]
    assert "W1\n(3, 4) float32" in labels
    # float64 and int dtypes are shown as they are
    z = tinydl.Tensor(np.ones(3, np.float64), requires_grad=True) * 2
    assert "(3,) float64" in draw_graph(z).source


def test_value_and_grad_statistics():
    w = tinydl.Tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    nodes, _ = parse_dot(draw_graph(loss, params={"w": w}, show_values=True, show_grads=True).source)
    wl = next(v["label"] for v in nodes.values() if v["label"].startswith("w\n"))
    assert "value: min -2  max 3  mean 0.625" in wl
    assert "grad: min -4  max 6  mean 1.25" in wl      # d(sum w^2)/dw = 2w
    root = next(v["label"] for v in nodes.values() if v["fillcolor"] == "palegreen")
    assert "value: 14.25" in root


def test_freed_graph_is_refused_with_advice():
    x = tinydl.Tensor([1.0], requires_grad=True)
    y = (x * 3).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        draw_graph(y)


def test_a_deep_chain_draws_without_recursion():
    x = tinydl.Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    nodes, edges = parse_dot(draw_graph(y).source)
    assert len(nodes) == 2 * 3000 + 1 + 3000  # ops, their outputs, x, and the 3000 constant 1.0s
    assert len(edges) == 3 * 3000


_UNARY = [tinydl.exp, tinydl.tanh, tinydl.sigmoid, lambda t: t * 2.0, lambda t: tinydl.sum(t, axis=0, keepdims=True)]


@given(st.lists(st.tuples(st.integers(0, len(_UNARY) - 1), st.booleans()), min_size=1, max_size=12))
def test_random_graphs_have_the_structure_of_the_computation(program):
    """Property: for random programs of unary ops and adds, every op appears once, has one output
    edge, as many input edges as distinct inputs, and the output is the only green node."""
    a = tinydl.Tensor(np.full((2, 3), 0.1, np.float32), requires_grad=True)
    b = tinydl.Tensor(np.full((2, 3), 0.2, np.float32), requires_grad=True)
    values, n_ops, in_edges = [a, b], 0, 0
    for op, combine in program:
        t = _UNARY[op](values[-1])
        n_ops += 1
        in_edges += 2 if op == 3 else 1   # t * 2.0: the constant 2.0 is a second input
        if combine:
            t = t + values[-2]
            n_ops += 1
            in_edges += 2
        values.append(t)
    nodes, edges = parse_dot(draw_graph(values[-1]).source)
    ops = [k for k, v in nodes.items() if v["shape"] == "box"]
    assert len(ops) == n_ops
    for k in ops:
        assert sum(1 for a_, _ in edges if a_ == k) == 1
        assert sum(1 for _, b_ in edges if b_ == k) >= 1
    assert len(edges) == n_ops + in_edges
    assert [v["fillcolor"] for v in nodes.values()].count("palegreen") == 1
    # acyclic: repeatedly remove nodes without incoming edges
    remaining, es = set(nodes), set(edges)
    while remaining:
        free = {n for n in remaining if not any(b_ == n for _, b_ in es)}
        assert free, "the drawn graph has a cycle"
        remaining -= free
        es = {(x, y) for x, y in es if x in remaining}


def _cnn():
    tinydl.manual_seed(0)
    return nn.Sequential(nn.Conv2D(4, 3, activation="relu"), nn.MaxPooling2D(2), nn.Flatten(),
                         nn.Dense(10))


def test_collapse_modules_into_one_node_each():
    model = _cnn()
    x = tinydl.Tensor(np.ones((2, 8, 8, 1), np.float32))
    with record_modules(model):
        loss = model(x).mean()
    src = draw_graph(loss, module=model, collapse=True).source
    nodes, edges = by_label(src)
    boxes = sorted(v["label"] for v in nodes.values() if v["shape"] == "box")
    assert boxes == sorted([f"0 ({model[0].name}): Conv2D\n(40 parameters)",
                            f"1 ({model[1].name}): MaxPooling2D\n(0 parameters)",
                            f"2 ({model[2].name}): Flatten\n(0 parameters)",
                            f"3 ({model[3].name}): Dense\n(370 parameters)", "Mean"])
    first = lambda i: f"{i} ({model[i].name}): {type(model[i]).__name__}"  # noqa: E731
    assert edges == sorted([("(2, 8, 8, 1) float32", first(0)), (first(0), "(2, 6, 6, 4) float32"),
                            ("(2, 6, 6, 4) float32", first(1)), (first(1), "(2, 3, 3, 4) float32"),
                            ("(2, 3, 3, 4) float32", first(2)), (first(2), "(2, 36) float32"),
                            ("(2, 36) float32", first(3)), (first(3), "(2, 10) float32"),
                            ("(2, 10) float32", "Mean"), ("Mean", "() float32")])
    # collapsing one module keeps the others' ops
    src = draw_graph(loss, module=model, collapse=["3"]).source
    labels = [v["label"] for v in parse_dot(src)[0].values()]
    assert any(l.startswith("Conv2D") for l in labels) and not any(l.startswith("MatMul") for l in labels)
    assert not any(l.startswith("3.kernel") for l in labels)   # the Dense's parameters are inside it
    # without module tags: a clear error
    with pytest.raises(ValueError, match="record_modules"):
        draw_graph(model(x).mean(), module=model, collapse=True)
    with pytest.raises(ValueError, match="not a submodule path"):
        draw_graph(loss, module=model, collapse=["nope"])
    # the recorder leaves the model as it was
    assert "forward" not in model[0].__dict__ and "forward" not in model.__dict__


def test_record_modules_ignores_other_threads():
    import threading
    model = _cnn()
    x = tinydl.Tensor(np.ones((1, 8, 8, 1), np.float32))
    model(x)
    with record_modules(model) as trace:
        worker = threading.Thread(target=lambda: model(x))
        worker.start()
        worker.join(30)
        model[3](tinydl.Tensor(np.ones((1, 36), np.float32)))
    assert [c.path for c in trace.calls] == ["3"]


def test_render_without_graphviz_says_what_to_install(monkeypatch, tmp_path):
    x = tinydl.Tensor([1.0], requires_grad=True)
    g = draw_graph(x * 2)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        g.render(tmp_path / "g.svg")
    g.render(tmp_path / "g.dot")  # DOT text needs nothing
    assert (tmp_path / "g.dot").read_text() == g.source
    model = _cnn()
    with pytest.raises(ImportError, match="graphviz"):
        plot_model(model, to_file=str(tmp_path / "m.png"), input_shape=(8, 8, 1))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_render_svg_and_png(tmp_path):
    x = tinydl.Tensor([[1.0, 2.0]], requires_grad=True)
    g = draw_graph(tinydl.tanh(x @ x.T).sum(), params={"x": x}, show_values=True)
    svg = g.render(tmp_path / "g.svg")
    text = open(svg).read()
    assert "<svg" in text and ">MatMul<" in text and ">Tanh<" in text
    png = open(g.render(tmp_path / "g.png"), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    assert "<svg" in g._repr_svg_()


def _seed_cnn_keras():
    from tinydl import keras
    tinydl.manual_seed(0)
    return keras.Sequential([
        kl.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), kl.MaxPooling2D((2, 2)),
        kl.Conv2D(64, (3, 3), activation="relu"), kl.MaxPooling2D((2, 2)),
        kl.Conv2D(64, (3, 3), activation="relu"), kl.Flatten(), kl.Dense(64, activation="relu"),
        kl.Dense(10, activation="softmax")])


def test_plot_model_keras_sequential(tmp_path):
    model = _seed_cnn_keras()
    from tinydl.keras.utils import plot_model as keras_plot_model
    g = keras_plot_model(model, to_file=str(tmp_path / "m.dot"), show_shapes=True, show_dtype=True,
                         show_layer_activations=True, show_trainable=True)
    nodes, edges = parse_dot((tmp_path / "m.dot").read_text())
    names = [l.name for l in model.layers]
    assert list(nodes) == [f"{names[0]}_input"] + names
    assert edges == list(zip([f"{names[0]}_input"] + names[:-1], names))
    conv = nodes[names[0]]["label"].split("\n")
    assert conv == [f"{names[0]}: Conv2D", "input: (None, 28, 28, 1)", "output: (None, 26, 26, 32)",
                    "dtype: float32", "activation: relu", "trainable: True"]
    assert nodes[names[5]]["label"].split("\n")[:3] == [f"{names[5]}: Flatten", "input: (None, 3, 3, 64)",
                                                         "output: (None, 576)"]
    assert g.source == (tmp_path / "m.dot").read_text()
    with pytest.raises(NotImplementedError, match="expand_nested"):
        keras_plot_model(model, to_file=None, expand_nested=True)


def test_plot_model_keras_functional_branches():
    from tinydl import keras
    inp = keras.Input(shape=(8,), name="features")
    a = kl.Dense(4, name="left")(inp)
    b = kl.Dense(4, name="right")(inp)
    out = kl.Dense(1, name="head")(kl.Concatenate(name="join")([a, b]))
    model = keras.Model(inputs=inp, outputs=out)
    nodes, edges = parse_dot(plot_model(model, to_file=None, show_shapes=True).source)
    assert set(edges) == {(model.layers[0].name, "left"), (model.layers[0].name, "right"),
                          ("left", "join"), ("right", "join"), ("join", "head")}
    assert nodes["join"]["label"].split("\n") == ["join: Concatenate", "input: [(None, 4), (None, 4)]",
                                                  "output: (None, 8)"]


def test_plot_model_traces_an_nn_module_with_a_skip_connection():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(6, 6)
            self.body = nn.Linear(6, 6)
            self.out = nn.Linear(6, 2)

        def forward(self, x):
            h = tinydl.relu(self.inp(x))
            return self.out(self.body(h) + h)

    tinydl.manual_seed(0)
    model = Residual()
    nodes, edges = by_label(plot_model(model, to_file=None, input_shape=(6,), show_shapes=True).source)
    first = {k: v["label"].split("\n")[0] for k, v in nodes.items()}
    assert sorted(first.values()) == sorted(["input_0: Input", f"inp ({model.inp.name}): Linear",
                                             f"body ({model.body.name}): Linear", "ReLU", "Add",
                                             f"out ({model.out.name}): Linear"])
    i, b, o = (f"{n} ({getattr(model, n).name}): Linear" for n in ("inp", "body", "out"))
    assert edges == sorted([("input_0: Input", i), (i, "ReLU"), ("ReLU", b), ("ReLU", "Add"), (b, "Add"), ("Add", o)])
    assert "output: (None, 2)" in next(v["label"] for v in nodes.values() if v["label"].startswith("out "))
    with pytest.raises(ValueError, match="input_shape"):
        plot_model(model, to_file=None)


def test_plot_model_traces_a_subclassed_keras_model_once():
    from tinydl import keras

    class Small(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = kl.Dense(4, activation="relu")
            self.out = kl.Dense(2)

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    model = Small()
    nodes, edges = by_label(plot_model(model, to_file=None, input_shape=(3,), show_shapes=True).source)
    h, o = (f"{n} ({getattr(model, n).name}): Dense" for n in ("hidden", "out"))
    assert edges == sorted([("input_0: Input", h), (h, o)])
    assert next(v["label"] for v in nodes.values() if v["label"].startswith("hidden")).split("\n")[1:] == [
        "input: (None, 3)", "output: (None, 4)"]


def test_viz_docstring_example():
    import doctest
    import tinydl.viz
    result = doctest.testmod(tinydl.viz)
    assert result.attempted > 0 and result.failed == 0


def test_second_order_graph():
    """create_graph=True: the gradient is itself a graph, drawn like any other, and leads back to x."""
    x = tinydl.Tensor([1.0, 2.0], requires_grad=True)
    y = (x ** 3).sum()
    (g,) = tinydl.autograd.grad(y, x, create_graph=True)        # dy/dx = 3 x^2, recorded
    nodes, edges = by_label(draw_graph(g, params={"x": x}).source)
    assert ("x", "Pow") in edges                                 # the backward's own ops use x
    ops = sorted(v["label"] for v in nodes.values() if v["shape"] == "box")
    assert ops == ["Mul", "Pow"]
    assert sum(1 for v in nodes.values() if v["fillcolor"] == "palegreen") == 1
    g.sum().backward()                                           # and it can be differentiated again
    np.testing.assert_allclose(x.grad.detach().numpy(), [6.0, 12.0])      # d2y/dx2 = 6x
