"""stylecast's trainer: everything that MAKES a style model (torch, torchvision). Writes .onnx files."""
