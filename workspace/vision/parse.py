"""Reading an image: OCR always (rapidocr on onnxruntime, offline), a vision model's description when the
VISION model has that capability; merged into one analysis text the chat model gets as context.

rapidocr's detection and recognition models ship inside its wheel, so reading never downloads anything.
The OCR engine is built on first use (a module import stays cheap) and used by one thread at a time.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np
from loguru import logger
from PIL import Image, ImageChops

from workspace.llm import LLMError, LLMGateway

DESCRIBE_PROMPT = ("Describe this image for someone who cannot see it: what it shows, and every error message, "
                   "code or log line in it, word for word. Be concise.")
DESCRIBE_TOKENS = 512
OCR_THREADS = 2  # the 2 cores the app is sized for, no more
# rapidocr's settings here, each measured against its defaults by bench/vision.py (bench/NOTES.md): same
# accuracy, less CPU per read.
OCR_PARAMS = {
    "Global.log_level": "warning",
    "Global.use_cls": False,  # screenshots are upright: the angle classifier is not even loaded
    # Detect at the image's own size (up to rapidocr's 2000 px cap): the default scales the shorter side UP to
    # 736 px, which on a cropped screenshot doubles the pixels the detector reads and finds nothing more.
    "Det.limit_type": "max",
    "Det.limit_side_len": 2000,
    "EngineConfig.onnxruntime.intra_op_num_threads": OCR_THREADS,
}
DEFAULT_PARAMS = {"Global.log_level": "warning"}  # rapidocr as it comes: the bench's baseline
BACKGROUND_TOLERANCE = 24  # a channel this close to the background colour is background (JPEG noise, dithering)
CROP_MARGIN = 16  # pixels of background kept around the content: the detector needs some


class TextReader:
    """OCR: the text in an image as lines, top to bottom, left to right."""

    def __init__(self, tuned: bool = True) -> None:
        self.tuned = tuned  # False: rapidocr as it comes (the bench's baseline)
        self._engine = None
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> str:
        with self._lock:
            if self._engine is None:
                from rapidocr import RapidOCR  # heavy (onnxruntime, opencv): only once an image arrives

                self._engine = RapidOCR(params=dict(OCR_PARAMS if self.tuned else DEFAULT_PARAMS))
                if self.tuned:
                    _sleeping_workers(self._engine)
            result = self._engine(np.asarray(content_area(image.convert("RGB"))), use_cls=False)
        if result.boxes is None or result.txts is None:
            return ""
        return "\n".join(_lines(list(zip(result.boxes, result.txts))))


def _sleeping_workers(engine) -> None:
    """Rebuild rapidocr's detection and recognition sessions so that onnxruntime's idle worker threads sleep
    instead of spinning: spinning burns a core between the many small operators of a read, which on 2 cores
    shared with a model server costs the read itself (bench/NOTES.md: about a fifth less CPU and wall time).
    rapidocr has no setting for it, so this reaches into its engine; if that layout changes, its own sessions
    are kept as they are."""
    import onnxruntime

    try:
        stages = [engine._load_det_model(), engine._load_rec_model()]
        built = []
        for stage in stages:
            old = stage.session.session
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 4
            options.enable_cpu_mem_arena = False
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.intra_op_num_threads = OCR_THREADS
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
            built.append(onnxruntime.InferenceSession(old._model_path, options, providers=old.get_providers()))
    except (AttributeError, TypeError, OSError, RuntimeError) as exc:
        logger.warning("OCR keeps rapidocr's own onnxruntime sessions (spinning workers): {}", exc)
        return
    for stage, session in zip(stages, built):
        stage.session.session = session


def content_area(image: Image.Image, margin: int = CROP_MARGIN) -> Image.Image:
    """`image` (RGB) without the plain background around its content (a terminal's empty lower half, an
    editor's blank right side): text detection costs time per pixel, and much of a screenshot is often empty."""
    corners = [image.getpixel(xy) for xy in ((0, 0), (image.width - 1, 0), (0, image.height - 1),
                                             (image.width - 1, image.height - 1))]
    background = Counter(corners).most_common(1)[0][0]
    diff = ImageChops.difference(image, Image.new("RGB", image.size, background))
    strongest = ImageChops.lighter(ImageChops.lighter(*diff.split()[:2]), diff.getchannel(2))
    box = strongest.point(lambda value: 255 if value > BACKGROUND_TOLERANCE else 0).getbbox()
    if box is None:
        return image
    box = (max(box[0] - margin, 0), max(box[1] - margin, 0),
           min(box[2] + margin, image.width), min(box[3] + margin, image.height))
    return image if box == (0, 0, image.width, image.height) else image.crop(box)


def _lines(found: list) -> list[str]:
    """Join the detected boxes that sit on the same row (rapidocr may split a line into pieces)."""
    rows: list[list[tuple[float, str]]] = []
    row_y, row_height = None, 0.0
    for box, text in sorted(found, key=lambda item: float(np.mean(np.asarray(item[0])[:, 1]))):
        points = np.asarray(box)
        centre, height = float(points[:, 1].mean()), float(np.ptp(points[:, 1]))
        if row_y is None or abs(centre - row_y) > max(row_height, height) / 2:
            rows.append([])
            row_y, row_height = centre, height
        rows[-1].append((float(points[:, 0].min()), text))
    return [" ".join(text for _, text in sorted(row)) for row in rows]


@dataclass(frozen=True)
class Describer:
    """Asks a vision-capable model (Ollama API) what an image shows."""

    gateway: LLMGateway
    model: str
    host: str
    max_side: int

    def capable(self) -> tuple[bool, str]:
        """Whether the model reports the `vision` capability; else why not, for the analysis."""
        try:
            info = self.gateway.model_info(self.model, self.host)
        except LLMError as exc:
            return False, f"the vision model {self.model} is not available ({exc})"
        if "vision" not in info.capabilities:
            return False, f"the model {self.model} has no vision capability"
        return True, ""

    def describe(self, image: Image.Image) -> str:
        small = image.copy()
        small.thumbnail((self.max_side, self.max_side), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        small.save(buffer, "PNG")
        # The ollama client base64-encodes bytes itself: plain base64, no `data:` prefix, as Ollama expects.
        message = {"role": "user", "content": DESCRIBE_PROMPT, "images": [buffer.getvalue()]}
        text, _ = self.gateway.chat(self.model, [message], host=self.host, options={"num_predict": DESCRIBE_TOKENS})
        return text.strip()


def analyse(images: list[tuple[str, Image.Image]], reader: TextReader, describer: Describer | None,
            stopped: Callable[[], bool] = lambda: False) -> str:
    """One analysis of a message's images: OCR text, and a description when a vision model can give one."""
    capable, why_not = describer.capable() if describer else (False, "no vision model is set")
    parts = []
    for number, (name, image) in enumerate(images, 1):
        if stopped():
            break
        part = [f"Image {number} ({name}, {image.width}×{image.height}):"]
        text = reader.read(image)
        part.append("Text read from the image (OCR):\n" + (f"```\n{text}\n```" if text else "(no text found)"))
        if capable:
            try:
                part.append(f"Description by {describer.model}:\n{describer.describe(image)}")
            except LLMError as exc:
                part.append(f"The vision model {describer.model} could not describe it ({exc}); "
                            "only the text in the image was read.")
        parts.append("\n".join(part))
    if not capable:
        parts.append(f"No image description: {why_not}. Only the text in the image was read.")
    return "\n\n".join(parts)
