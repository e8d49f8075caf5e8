"""ComfyUI-RealCam core library.

Never imports ComfyUI (comfy, folder_paths, server, nodes): the same code runs from the nodes,
the tests, the benchmarks and any other host.

Conventions (ARCHITECTURE §2), said once here and relied on everywhere:
- cameras use OpenCV axes (x right, y down, z forward); poses are camera-to-world 4x4 matrices
  acting on column vectors, translations in metres; a trajectory is relative to its first frame;
- intrinsics are in pixels at a stated resolution with pixel centres at +0.5, or normalised
  (fx/W, fy/H, cx/W, cy/H) when a size-free form is needed;
- images are [B, H, W, 3] float 0..1, masks [B, H, W], depth [H, W] float32 metres (0 = invalid).
"""

__version__ = "0.1.0"
