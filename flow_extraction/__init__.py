"""Video decoding, TV-L1 optical flow and I3D feature extraction.

Planned (raw-data path issue); nothing is implemented here yet.
"""
