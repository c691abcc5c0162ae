"""digitedge's device runtime: segment, classify and read handwritten digits.

Depends only on numpy, OpenCV and a TFLite interpreter; never imports TensorFlow.
"""

__version__ = "0.1.0"
