"""The annotation data model, its geometry and every file format. Imports neither torch nor Qt."""
from .coco import read_coco, write_coco
from .errors import Cancelled, UserError
from .geometry import Box, Correction, ExtremePoints
from .model import Annotation, Category, Dataset, ImageRecord, ImageStatus, Review, Shape, Source
from .report import Report

__all__ = [
    "Annotation", "Box", "Cancelled", "Category", "Correction", "Dataset", "ExtremePoints", "ImageRecord",
    "ImageStatus", "Report", "Review", "Shape", "Source", "UserError", "read_coco", "write_coco",
]
