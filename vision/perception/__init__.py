"""Local perception on the CPU, with weights that ship in pip packages: OCR (`ocr`: RapidOCR and
Tesseract), the ImageNet classifier (`imagenet`), faces, people and picture quality combined
in `analyze.Perception`, colour and light (`colour`), and CLIP / SigLIP embeddings when that
model is downloaded (`clip`), and the measured thresholds at which each of these detectors may
say yes or no (`claims`, from `resources/claims.json`). Plain functions and classes, no
threads of their own: the stage that calls them owns the thread."""
