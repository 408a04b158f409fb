"""Raw-video path: decoding, TV-L1 optical flow and I3D feature extraction.

- :mod:`flow_extraction.video`: decode a video to (T, H, W, 3) uint8 RGB frames (OpenCV,
  PyAV fallback) and the extractor's short-side-256 resize + 224² centre crop.
- :mod:`flow_extraction.tvl1`: Dual TV-L1 flow (OpenCV contrib, CPU) between consecutive
  grayscale frames with pinned parameters (``TVL1_PARAMS``).
- :mod:`flow_extraction.flow_io`: the per-video flow cache (.npz with provenance meta).
- :mod:`flow_extraction.i3d`, :mod:`flow_extraction.i3d_weights`,
  :mod:`flow_extraction.features`: I3D feature extraction.

See docs/flow.md and docs/features.md.
"""
