"""PyTorch models and their training (the kinds of `detectors.catalogue`). Never imports Qt or `annotator`."""
