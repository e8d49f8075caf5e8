"""Run inside Blender (`blender -b --factory-startup --python THIS -- in.glb out.json`): import a glTF with
Blender's own importer and dump, per key frame of the camera, its world matrix and lens; plus point counts."""

import json
import sys

import bpy
import numpy

# Debian bookworm pairs Blender 3.4 with numpy 1.24, which dropped the `np.bool` alias its glTF mesh
# importer still uses; restore the alias for this process only.
if not hasattr(numpy, "bool"):
    numpy.bool = bool

src, dst = sys.argv[sys.argv.index("--") + 1:][:2]
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.gltf(filepath=src)
scene = bpy.context.scene
out = {"cameras": {}, "meshes": {}, "fps": scene.render.fps / scene.render.fps_base}
for ob in scene.objects:
    if ob.type == "MESH":
        out["meshes"][ob.name] = len(ob.data.vertices)
    if ob.type != "CAMERA":
        continue
    frames = set()
    action = ob.animation_data.action if ob.animation_data else None
    for fc in (action.fcurves if action else []):
        frames.update(kp.co[0] for kp in fc.keyframe_points)
    rows = []
    for f in sorted(frames):
        scene.frame_set(int(round(f)))
        cam = ob.data
        rows.append({"frame": f, "matrix_world": [list(r) for r in ob.matrix_world],
                     "angle_y": cam.angle_y, "sensor_fit": cam.sensor_fit, "lens": cam.lens,
                     "sensor_height": cam.sensor_height})
    out["cameras"][ob.name] = rows
with open(dst, "w") as f:
    json.dump(out, f)
