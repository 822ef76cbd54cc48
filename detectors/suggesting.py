"""How much of a detector's output a person is shown as suggestions (pre-labelling, and the score
threshold training measures on held-out images for it). Torch-free: the labelling core reads it."""

#: Suggestions on one image at most: more is a model guessing, not a person's help.
MAX_SUGGESTIONS = 50
#: Two detections whose boxes overlap more than this are one object, whatever their classes (one
#: pre-labelling run put the same box on an image under three classes).
SAME_OBJECT = 0.7
