"""Chapter 5's exercise: a topological order of a tinydl graph, without recursion."""
from tinydl.core.graph_view import graph_parents


def topological_order(root_fn):
    post, seen = [], set()
    stack = [(root_fn, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            post.append(fn)               # after every Function below it
            continue
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        stack.append((fn, True))
        for t in graph_parents(fn):
            if t._creator is not None and id(t._creator) not in seen:
                stack.append((t._creator, False))
    post.reverse()                        # each Function before the ones that made its inputs
    return post
