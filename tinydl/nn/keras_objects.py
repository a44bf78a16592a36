"""What Keras's small configurable objects (initializers, constraints) share: a config dict that
rebuilds the object, equality by type and config, and the lookup that turns Keras's identifiers
(a snake_case name, a class name, a ``{'class_name', 'config'}`` dict, or a callable) into one."""


class ConfigurableObject:
    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = object.__hash__


def lookup(identifier, kind, names, classes, fallback=None):
    """The object ``identifier`` names. ``names`` maps Keras's snake_case names and ``classes``
    class names to classes; an unknown string goes to ``fallback(identifier)`` when given."""
    if isinstance(identifier, str):
        cls = names.get(identifier) or classes.get(identifier)
        if cls is not None:
            return cls()
        if fallback is not None:
            return fallback(identifier)
        raise ValueError(f"unknown {kind} {identifier!r}; known: {sorted(names)}")
    if isinstance(identifier, dict):
        cls = classes.get(identifier.get("class_name"))
        if cls is None:
            raise ValueError(f"unknown {kind} config {identifier!r}; known classes: {sorted(classes)}")
        return cls(**identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
