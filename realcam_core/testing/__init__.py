"""Writers of tiny random-weight checkpoints in the real on-disk formats, for tests and demos.

Nothing here is needed at run time; tests (core and ComfyUI host) use it to build models in a
temporary folder in well under a second, so no real weights are needed offline.
"""

from .tiny_depth import TINY_DEPTH_ARCH, tiny_original_state_dict, write_tiny_hf, write_tiny_original

__all__ = ["TINY_DEPTH_ARCH", "tiny_original_state_dict", "write_tiny_hf", "write_tiny_original"]
