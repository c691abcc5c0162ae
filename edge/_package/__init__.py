"""digitedge: handwritten digits from a Keras notebook to a device.

The installed distribution's root package. The code lives in three subpackages, installed
from the repository's folders of the same names: `digitedge.edge` (the device runtime:
numpy, OpenCV and a TFLite interpreter), `digitedge.train` and `digitedge.convert` (they
need `digitedge[train]`). From Python: `from digitedge.edge import Recognizer`.
"""

from digitedge.edge import __version__

__all__ = ["__version__"]
