"""Cameras and scenes in and out of other tools: glTF 2.0 (Blender), COLMAP, nerfstudio, PLY, core Load3D.

Pure library code (no ComfyUI). The one axis change between RealCam's OpenCV cameras and the OpenGL
convention of glTF / Blender / nerfstudio lives in `axes`.
"""
