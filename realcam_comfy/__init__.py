"""The ComfyUI side of the pack: everything that needs `comfy` but is not a node (ARCHITECTURE §1).

- `model_base`: RealCam-I2V as a core BaseModel / ModelPatcher; `sampling`: model sampling, the
  upstream DDIM sampler and trailing schedule, guidance rescale; `conditioning`: the keys RealCam puts
  in CONDITIONING and the helpers that read them; `base_parts`: core CLIP / CLIP_VISION / VAE built from
  a DynamiCrafter base checkpoint.
- `shaping`: the noise-shaping sampler wrapper (maths in `realcam_core.shaping`).
- `sampler`: realcam_ddim / realcam_trailing registered with core, RealCam Sampler's path; `shaping_inputs`:
  the shaping widgets of the three shaping nodes; `wan`: Wan's core camera embedding and resize.
- `common`: the category, custom IO types and model folders; `file_policy`: ComfyUI's roots for
  `realcam_core.paths`; `validation`: boundary checks installed on every node; `presentation`:
  subcategories and output tooltips; `upload`: the pose-upload route.
"""
