"""``Secret`` and ``resolve`` live in the configuration toolkit (``pipeline.config``): the one
secret resolver of every process. Kept as a name for the modules that import it from here."""

from pipeline.config import Secret, resolve

__all__ = ["Secret", "resolve"]
