"""The method's building blocks: distillation losses and the modality bridge, fusion, the
RELATE model and the single-branch students, prediction refinement, and the option presets."""
