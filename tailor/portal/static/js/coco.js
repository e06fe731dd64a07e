// "Export COCO": the project's tagged images, its tags and (for a detector) its regions as a COCO file, in the
// form Tailor's COCO toolkit reads (API.md): categories from the tags, an image per tagged image with its
// `absolute_url` (the API's URI of the original file, which answers to the training key), and an annotation per
// region (bbox relative [left, top, width, height]) or, for a classifier, per tag (no bbox). The Custom Vision API
// has no export of its own: the file is built here from its tagged-images listing and handed to the browser.
import { h } from "./dom.js";

const PAGE = 256; // the API's largest `take`

async function taggedImages(api, projectId) {
  const all = [];
  for (let skip = 0; ; skip += PAGE) {
    const batch = await api.images(projectId, { tagged: true, take: PAGE, skip });
    all.push(...batch);
    if (batch.length < PAGE) return all;
  }
}

export async function buildCoco(api, project, detection) {
  const [tags, images] = await Promise.all([api.tags(project.id), taggedImages(api, project.id)]);
  const categoryOf = new Map(tags.map((t, index) => [t.id, index + 1]));
  const coco = {
    info: { description: project.name, version: "1.0",
      date_created: new Date().toISOString(), contributor: "Tailor portal" },
    categories: tags.map((t) => ({ id: categoryOf.get(t.id), name: t.name })),
    images: [],
    annotations: [],
  };
  images.forEach((image, index) => {
    const id = index + 1;
    coco.images.push({ id, width: image.width, height: image.height, file_name: `${image.id}.jpg`,
      absolute_url: new URL(image.originalImageUri, location.href).href });
    const marks = detection
      ? (image.regions || []).map((r) => ({ category_id: categoryOf.get(r.tagId),
        bbox: [r.left, r.top, r.width, r.height] }))
      : (image.tags || []).map((t) => ({ category_id: categoryOf.get(t.tagId) }));
    for (const mark of marks) {
      if (mark.category_id === undefined) continue; // a tag deleted while this ran
      coco.annotations.push({ id: coco.annotations.length + 1, image_id: id, ...mark });
    }
  });
  return coco;
}

export async function exportCoco(api, project, detection) {
  const coco = await buildCoco(api, project, detection);
  const blob = new Blob([JSON.stringify(coco, null, 1)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const safeName = project.name.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "") || "project";
  const link = h("a", { href: url, download: `${safeName}-coco.json`, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return coco;
}
