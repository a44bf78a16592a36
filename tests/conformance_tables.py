"""What the conformance-table tests share: a table's rows and the test functions of a file.
(Tables: docs/conformance/*.md, one row a name: ``| name | status | check | notes |``.)"""
import ast
import functools
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def table_rows(path):
    """The rows of a conformance table under the repository root: lists of stripped cells."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return [[c.strip() for c in line.split("|")[1:-1]] for line in f
                if line.startswith("| ") and not line.startswith("| name")]


@functools.lru_cache(maxsize=None)
def function_sources(path):
    """``({function name: its source}, the file's text)`` of a test file under the root."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    return {n.name: ast.get_source_segment(text, n) for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.FunctionDef)}, text
