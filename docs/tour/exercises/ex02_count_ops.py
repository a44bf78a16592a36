"""Chapter 2's exercise: count the ops in the graph behind a tensor."""
import collections

from tinydl.core.graph_view import graph_parents, op_name


def count_ops(tensor):
    counts, seen = collections.Counter(), set()
    stack = [tensor._creator] if tensor._creator is not None else []
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        counts[op_name(fn)] += 1
        stack.extend(t._creator for t in graph_parents(fn) if t._creator is not None)
    return counts
