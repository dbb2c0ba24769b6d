"""Language identification for short chat text."""

from babelcast.langid.codes import ISO_639_1, UNDETERMINED, normalize_lang
from babelcast.langid.detector import Detection, Detector, Thresholds, clean_text

__all__ = ["ISO_639_1", "UNDETERMINED", "Detection", "Detector", "Thresholds", "clean_text",
           "normalize_lang"]
