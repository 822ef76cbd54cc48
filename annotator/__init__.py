"""The Qt-free labelling core (project store, session, jobs) and the `annotator` command.

Only `annotator.gui` imports Qt.
"""
