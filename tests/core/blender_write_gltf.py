"""Run inside Blender (`blender -b --factory-startup --python THIS -- out.glb out.json`): key a camera over
five frames, export it with Blender's own glTF exporter, and dump its world matrix and lens per frame."""

import json
import math
import sys

import bpy

dst_glb, dst_json = sys.argv[sys.argv.index("--") + 1:][:2]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.resolution_x, scene.render.resolution_y = 1280, 720
cam_data = bpy.data.cameras.new("ShotCam")
cam_data.lens, cam_data.sensor_width, cam_data.sensor_fit = 35.0, 36.0, "AUTO"
cam = bpy.data.objects.new("ShotCam", cam_data)
scene.collection.objects.link(cam)
# a second, still camera: the importer must pick the animated one by name
still = bpy.data.objects.new("StillCam", bpy.data.cameras.new("StillCam"))
scene.collection.objects.link(still)
rows = []
for i, f in enumerate(range(1, 6)):
    cam.location = (0.3 * i, -4.0 + 0.5 * i, 1.5 + 0.1 * i * i)
    cam.rotation_euler = (math.radians(80 - 3 * i), math.radians(2 * i), math.radians(10 * i))
    cam.keyframe_insert("location", frame=f)
    cam.keyframe_insert("rotation_euler", frame=f)
scene.frame_start, scene.frame_end = 1, 5
for f in range(1, 6):
    scene.frame_set(f)
    rows.append({"frame": f, "matrix_world": [list(r) for r in cam.matrix_world], "angle_x": cam_data.angle_x,
                 "angle_y": cam_data.angle_y})
bpy.ops.export_scene.gltf(filepath=dst_glb, export_format="GLB", export_cameras=True, export_animations=True)
with open(dst_json, "w") as fh:
    json.dump({"rows": rows, "aspect": 1280 / 720}, fh)
