"""Scenes: one photo with metric depth, its point cloud, and the preview rendered from it.

- `types`: the `Scene` dataclass (image, depth in metres, pixel K, mask).
- `geometry`: depth -> camera-space points.
- `build`: scenes from depth maps and depth files, depth previews.
- `render`: the z-buffer point-cloud renderer, visibility and the noise-shaping masks.
- `scene_file`: the compact binary point-cloud file the editor widget reads.
"""
