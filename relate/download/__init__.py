"""Downloads: the MS-TCN features archive, pytorch-i3d weights and raw videos.

Modules: ``sources`` (the table of named sources and checksums), ``http`` (resumable
urllib download), ``verify`` (sha256, md5, git blob SHA-1), ``published`` (checksums a host
publishes: Zenodo record md5, Hugging Face LFS sha256), ``lock`` (the checksum lock beside
the cache), ``extract`` (safe zip/tar extraction), ``members`` (which archive members go
where), ``fetch`` (mirrors in order, verify, rename into place), ``install`` (features,
videos, weights; receipts and skipping). See docs/downloads.md.
"""
