"""The lesson numconv grew out of: images, named filters, the feature-extraction
pipeline and its figures (:mod:`numconv.viz`).

A photograph is read as float32 (:func:`~numconv.read_image`), filtered with a named
kernel (:func:`~numconv.get_kernel`, :func:`~numconv.as_filters`) by a stride-1 SAME
convolution, detected with ReLU and condensed with max pooling
(:func:`~numconv.feature_extraction`). ``numconv.lesson`` imports no plotting library;
the figures live in :mod:`numconv.lesson.figures` (rows of stages),
:mod:`numconv.lesson.diagrams` (kernel, translation invariance, im2col) and
:mod:`numconv.lesson._plot` (their shared drawing, showing and saving), published
together as :mod:`numconv.viz`.
"""
