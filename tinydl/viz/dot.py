"""DOT text and rendering: the ``Graph`` object that draw_graph and plot_model return.

The DOT text is always available (``graph.source``). SVG, PNG and PDF come from Graphviz's
``dot`` program when it is installed (Debian/Ubuntu: ``apt-get install graphviz``); without it,
rendering raises an error that says so.
"""
import os
import shutil
import subprocess


def quote(text):
    """A DOT double-quoted string (newlines become centred line breaks)."""
    text = str(text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def attrs(**kw):
    return "[" + ", ".join(f"{k}={quote(v)}" for k, v in kw.items() if v is not None) + "]"


def dot_available():
    return shutil.which("dot") is not None


class Graph:
    """A graph as DOT text: ``.source``; ``.render(path)`` / ``.pipe(format)`` need Graphviz."""

    def __init__(self, name, rankdir="TB", dpi=None):
        self.name = name
        self.rankdir = rankdir
        self.dpi = dpi
        self.nodes = {}   # id -> attribute dict, in insertion order
        self.edges = []   # (tail id, head id, attribute dict)

    def node(self, node_id, **kw):
        self.nodes[node_id] = kw

    def edge(self, tail, head, **kw):
        self.edges.append((tail, head, kw))

    @property
    def source(self):
        lines = [f"digraph {quote(self.name)} {{",
                 f"  graph {attrs(rankdir=self.rankdir, dpi=self.dpi)};",
                 '  node [fontname="Helvetica", fontsize="11"];',
                 '  edge [fontname="Helvetica", fontsize="9"];']
        for node_id, kw in self.nodes.items():
            lines.append(f"  {quote(node_id)} {attrs(**kw)};")
        for tail, head, kw in self.edges:
            lines.append(f"  {quote(tail)} -> {quote(head)}" + (f" {attrs(**kw)}" if kw else "") + ";")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<tinydl.viz.Graph {self.name!r}: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    def pipe(self, format="svg"):
        """The graph rendered by Graphviz's ``dot`` as bytes (``format``: svg, png, pdf, ...)."""
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(
                f"rendering to {format} needs Graphviz's `dot` program, which is not installed "
                "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz); "
                "the DOT text is available without it as .source")
        done = subprocess.run([exe, f"-T{format}"], input=self.source.encode(), capture_output=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"dot -T{format} failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def render(self, path, format=None):
        """Write the graph to ``path``: DOT text for ``.dot``/``.gv``, else rendered by Graphviz
        in the format named by ``format`` or by the extension (``.svg``, ``.png``, ``.pdf``)."""
        path = os.fspath(path)
        fmt = (format or os.path.splitext(path)[1].lstrip(".") or "png").lower()
        data = self.source.encode() if fmt in ("dot", "gv") else self.pipe(fmt)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self):  # inline display in Jupyter when Graphviz is installed
        return self.pipe("svg").decode() if dot_available() else None
