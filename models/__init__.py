"""The shipped style models (.onnx), their catalog (catalog.json), recipes and credits (README.md).

A data-only package: realtime/ finds this folder through importlib.resources, so shipped styles work from a
wheel as well as from a checkout.
"""
