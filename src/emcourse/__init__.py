"""emcourse: helpers for an executable course on 3D electron microscopy.

The notebooks import the modules they need, e.g. ``from emcourse import data, viewers``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("emcourse")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

__all__ = ["__version__"]
