"""PyTorch models and their training (SAPD, DEXTR, ExtremeNet). Never imports Qt or `annotator`."""
