"""The names a user can give for where and how a model runs.

Kept apart from providers.py, which imports onnxruntime: the CLI builds its ``--help`` and argument checks from
these tuples without paying for that import.
"""

DEVICES = ("auto", "cuda", "tensorrt", "cpu")
CUDNN_ALGOS = ("heuristic", "exhaustive", "default")
PRECISIONS = ("fp32", "fp16")
