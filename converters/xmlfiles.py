"""Reading the XML formats (VOC, CVAT): one clear error for a malformed file or a wrong root element."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .errors import UserError


def parse_xml(path: Path, root_tag: str) -> ET.Element:
    """The root element of `path`, which must be <root_tag>."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        line, col = e.position  # expat counts columns from 0
        raise UserError(f"malformed XML: {e}".split(": line")[0], path, f"line {line} column {col + 1}") from None
    if root.tag != root_tag:
        raise UserError(f"expected an <{root_tag}> element, found <{root.tag}>", path, "root")
    return root
