"""Sultan: a plugin-based Python framework for Cosmos-style blockchain nodes.

Module authors import what they need from here; they never import pluggy directly.
"""

__version__ = "0.1.0"

from sultan.kernel.errors import QueryError, SdkError, register_error  # noqa: E402
from sultan.kernel.hookspecs import hookimpl  # noqa: E402
from sultan.kernel.modules import ModuleDefinition  # noqa: E402
from sultan.kernel.tx.context import Context  # noqa: E402
from sultan.kernel.tx.events import Event  # noqa: E402

__all__ = [
    "Context",
    "Event",
    "ModuleDefinition",
    "QueryError",
    "SdkError",
    "__version__",
    "hookimpl",
    "register_error",
]
