"""Downloads: the MS-TCN features archive, pytorch-i3d weights and raw videos.

Modules: ``sources`` (the table of named sources and checksums), ``http`` (resumable
urllib download), ``verify`` (sha256, git blob SHA-1), ``extract`` (safe zip/tar
extraction), ``members`` (which archive members go where), ``fetch`` (mirrors in order, verify,
rename into place), ``install`` (features, videos, weights; receipts and skipping). See docs/downloads.md.
"""

from relate.download.fetch import FetchOptions
from relate.download.http import HttpOptions
from relate.download.install import (
    Installed,
    install_features,
    install_i3d_weights,
    install_videos,
)

__all__ = [
    "FetchOptions",
    "HttpOptions",
    "Installed",
    "install_features",
    "install_i3d_weights",
    "install_videos",
]
