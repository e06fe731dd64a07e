// One image: for a classifier, the picture, its tags, "Add tag" and a remove button per tag; for a detector, the
// picture with its boxes to draw, move, resize, relabel and delete (regions.js).
import { alertBox, clearError, field, h, replace, showError } from "./dom.js";
import { regionEditor } from "./regions.js";

export async function renderImage(page, api, view, imageId) {
  const { project } = page;
  const error = alertBox();
  const back = h("a", { href: `#/projects/${project.id}/images` }, "Back to images");
  page.content.append(back, error);
  let image, tags;
  try {
    const [found, projectTags] = await Promise.all([api.imagesById(project.id, [imageId]), api.tags(project.id)]);
    if (found.length === 0) throw new Error(`There is no image ${imageId} in this project.`);
    [image, tags] = [found[0], projectTags];
  } catch (problem) {
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
  const picture = h("img", { alt: "The image", class: "full", draggable: "false" });
  api.imageFile(image.resizedImageUri || image.originalImageUri).then((url) => { picture.src = url; },
    (problem) => showError(error, problem));
  const size = h("p", { class: "muted" }, `${image.width} × ${image.height} px`);
  if (page.detection) {
    const editor = regionEditor({ api, project, image, tags, picture, view });
    page.content.append(h("div", { class: "image-layout" }, editor.frame, h("div", {}, editor.panel, size)));
    return;
  }
  const frame = h("div", { class: "frame" }, picture);
  const tagList = h("ul", { class: "tag-list", "aria-label": "Tags of this image" });
  const choice = h("select", { name: "tag" });
  const addForm = h("form", { class: "inline" }, field("Tag", choice), h("button", { type: "submit" }, "Add tag"));
  const refresh = async () => {
    const [latest] = await api.imagesById(project.id, [image.id]);
    image = latest;
    showTags();
  };
  const act = async (action) => {
    clearError(error);
    try {
      await action();
      await refresh();
    } catch (problem) {
      showError(error, problem);
    }
  };
  const showTags = () => {
    const mine = new Set((image.tags || []).map((t) => t.tagId));
    replace(tagList, mine.size === 0 ? h("li", { class: "muted" }, "Untagged") : (image.tags || []).map((t) =>
      h("li", {}, h("span", {}, t.tagName), h("button", {
        type: "button", class: "link", "aria-label": `Remove tag ${t.tagName}`,
        onclick: () => act(() => api.untagImage(project.id, image.id, t.tagId)),
      }, "Remove"))));
    const others = tags.filter((t) => !mine.has(t.id));
    replace(choice, others.map((t) => h("option", { value: t.id }, t.name)));
    addForm.hidden = others.length === 0;
  };
  addForm.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api.tagImage(project.id, image.id, choice.value));
  });
  showTags();
  page.content.append(h("div", { class: "image-layout" }, frame,
    h("section", { class: "card" }, h("h2", {}, "Image tags"), tagList, addForm, size)));
}
