// "Add images": many files at once, by the file chooser or dropped on the dialog, with the tags chosen for them
// (existing ones, or a new one typed in), uploaded one per request so the progress bar counts real work and one bad
// file does not sink the rest. Each file the API refuses is named with the reason.
import { formDialog } from "./dialog.js";
import { field, h } from "./dom.js";

const PARALLEL_UPLOADS = 3;
const STATUS_WORDS = {
  OKDuplicate: "already in the project",
  ErrorSource: "could not be read",
  ErrorImageFormat: "is not an image format Tailor reads (JPEG, PNG, BMP, GIF, TIFF, WebP)",
  ErrorImageSize: "is too large (6 MB at most)",
  ErrorImageDimensions: "has sides out of range",
  ErrorStorage: "could not be stored",
  ErrorLimitExceed: "is over the project's image limit",
  ErrorTagLimitExceed: "has too many tags",
  ErrorRegionLimitExceed: "has too many regions",
  ErrorInvalidTag: "names a tag the project does not have",
  ErrorNegativeAndRegularTagOnSameImage: "has a Negative tag with other tags",
  ErrorUnknown: "failed for an unknown reason",
};

export function openUploadDialog(api, project, tags) {
  let files = [];
  const chooser = h("input", { type: "file", name: "images", accept: "image/*", multiple: true });
  const chosen = h("p", { class: "muted", "aria-live": "polite" }, "No images chosen.");
  const setFiles = (list) => {
    files = [...list].filter((f) => f.type === "" || f.type.startsWith("image/"));
    chosen.textContent = files.length ? `${files.length} images chosen.` : "No images chosen.";
  };
  chooser.addEventListener("change", () => setFiles(chooser.files));
  const dropZone = h("div", { class: "drop-zone", "data-testid": "drop-zone" }, "Drop images here, or ",
    field("Images", chooser));
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("over");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("over"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("over");
    setFiles(event.dataTransfer.files);
  });
  const tagChoices = h("fieldset", { class: "choices" }, h("legend", {}, "Tags for these images"),
    tags.length === 0 ? h("span", { class: "muted" }, "The project has no tags yet: type one below.") : null,
    ...tags.map((t) => h("label", { class: "choice" }, h("input", { type: "checkbox", value: t.id }), t.name)));
  const newTag = h("input", { name: "newTag", maxlength: 255 });
  const progress = h("progress", { max: 1, value: 0, "aria-label": "Upload progress", hidden: true });
  const status = h("p", { "aria-live": "polite", class: "muted" });

  return formDialog({
    title: "Add images",
    submitLabel: "Upload",
    body: h("div", {}, dropZone, chosen, tagChoices, field("New tag", newTag, "Created, then given to every image."),
      progress, status),
    submit: async () => {
      if (files.length === 0) throw new Error("Choose images first (or drop them on the dialog).");
      const tagIds = [...tagChoices.querySelectorAll("input:checked")].map((input) => input.value);
      if (newTag.value.trim()) {
        const created = await api.createTag(project.id, newTag.value.trim());
        tagIds.push(created.id);
        newTag.value = "";
        tagChoices.append(h("label", { class: "choice" }, h("input", { type: "checkbox", value: created.id,
          checked: true }), created.name));
      }
      const problems = await uploadAll(api, project.id, files, tagIds, progress, status);
      if (problems.length) {
        files = problems.map((p) => p.file); // what is left, for another try
        throw new Error(`${problems.length} of the images were not added: ` +
          problems.map((p) => `${p.file.name} ${p.reason}`).join("; "));
      }
      return true;
    },
  });
}

async function uploadAll(api, projectId, files, tagIds, progress, status) {
  let done = 0;
  const problems = [];
  progress.hidden = false;
  progress.max = files.length;
  progress.value = 0;
  const show = () => {
    progress.value = done;
    status.textContent = `Uploaded ${done} of ${files.length}`;
  };
  show();
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      try {
        const summary = await api.uploadImage(projectId, file, tagIds);
        const outcome = summary.images[0].status;
        if (outcome !== "OK" && outcome !== "OKDuplicate") {
          problems.push({ file, reason: STATUS_WORDS[outcome] || outcome });
        }
      } catch (problem) {
        problems.push({ file, reason: problem.message });
      }
      done += 1;
      show();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, files.length) }, worker));
  return problems;
}
