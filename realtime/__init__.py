"""stylecast's runtime: everything that RUNS a style model (ONNX Runtime, OpenCV, PyAV). Never imports torch."""

__version__ = "0.1.0"
