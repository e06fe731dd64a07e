// "Import COCO": a COCO file chosen on this computer or named by its URI (an Azure Blob or other https URL the service
// may read), sent to Tailor's import call, which checks it with the COCO toolkit and imports all of it or nothing.
// A refused file's problems are listed in the dialog, each with its file and JSON path; an import resolves with the
// call's summary.
import { formDialog } from "./dialog.js";
import { field, h, replace } from "./dom.js";

export function openCocoImportDialog(api, project) {
  const chooser = h("input", { type: "file", name: "cocoFile", accept: ".json,application/json" });
  const uri = h("input", { type: "url", name: "cocoUri", placeholder: "https://account.blob.core.windows.net/…" });
  const problems = h("ul", { class: "problems", "aria-label": "Problems", hidden: true });
  const kind = project.detection ? "boxes (bbox, relative to the image)" : "categories";
  return formDialog({
    title: "Import COCO",
    submitLabel: "Import",
    body: h("div", {},
      h("p", { class: "muted" }, `The file's images are read from their absolute_url or coco_url, its ${kind} ` +
        "become the images' tags or regions. Nothing is imported when the file has any problem."),
      field("COCO file", chooser),
      field("COCO file URI", uri, "Or the file's URI, instead of a file."),
      problems),
    submit: async () => {
      replace(problems);
      problems.hidden = true;
      const file = chooser.files[0];
      const address = uri.value.trim();
      if (!file && !address) throw new Error("Choose a COCO file, or give its URI.");
      if (file && address) throw new Error("Give a COCO file or a URI, not both.");
      try {
        return await api.importCoco(project.id, file ? { file } : { uri: address });
      } catch (error) {
        if (error.problems && error.problems.length) {
          replace(problems, error.problems.map((p) => h("li", {},
            h("code", {}, [p.file, p.path].filter(Boolean).join(" › ")), ` ${p.message}`)));
          problems.hidden = false;
        }
        throw error;
      }
    },
  });
}

export function summaryText(summary) {
  const parts = [`Imported ${summary.imagesAdded} of ${summary.images} images`];
  if (summary.duplicatesSkipped) parts.push(`${summary.duplicatesSkipped} already in the project were skipped`);
  if (summary.tagsCreated.length) parts.push(`tags created: ${summary.tagsCreated.join(", ")}`);
  if (summary.kind === "detection") parts.push(`${summary.regionsAdded} regions`);
  return `${parts.join("; ")}.`;
}
