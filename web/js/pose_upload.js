// Upload button for RealCam Load Pose File: puts a RealEstate10K .txt into ComfyUI's input
// folder (the frontend's own upload widgets only accept images, video and audio).
import { app } from "../../../scripts/app.js";
import { addUploadButton, selectInCombo, uploadToInput } from "./upload_common.js";

app.registerExtension({
  name: "RealCam.PoseFileUpload",
  async nodeCreated(node) {
    if (node.comfyClass !== "RealCamLoadPoseFile") return;
    addUploadButton(node, {
      label: "choose pose file to upload",
      accept: ".txt,text/plain",
      className: "realcam-pose-upload",
      onFiles: async (files) => selectInCombo(node, "pose_file", await uploadToInput(files[0], "pose")),
    });
  },
});
