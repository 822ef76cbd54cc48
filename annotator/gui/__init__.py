"""The PySide6 window: the only package that imports Qt. Widgets stay thin; the labelling session in
`annotator.session` holds the logic and the project store holds every label."""
