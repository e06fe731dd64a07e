// Training Images: the Tagged and Untagged views as a thumbnail grid with paging, filtered by tag; the project's
// tags (with "Create tag"); "Add images", "Import COCO" and "Export COCO".
import { openCocoImportDialog, summaryText } from "./coco-import.js";
import { exportCoco } from "./coco.js";
import { alertBox, answerOrShow, clearError, field, h, replace, showError } from "./dom.js";
import { openUploadDialog } from "./upload.js";

const DEFAULT_PAGE_SIZE = 24;
let notice = ""; // what the last import did, shown once on the grid it refreshed

export async function renderImages(page, api, view, query) {
  const { project } = page;
  const tagged = query.get("view") !== "untagged";
  const tagFilter = tagged ? query.get("tag") || "" : "";
  const pageSize = Math.max(1, Number(query.get("pageSize")) || DEFAULT_PAGE_SIZE);
  const pageNumber = Math.max(1, Number(query.get("page")) || 1);
  const base = `#/projects/${project.id}/images`;
  const hashFor = (changes) => {
    const next = new URLSearchParams(query);
    for (const [name, value] of Object.entries(changes)) {
      if (value === null || value === "") next.delete(name);
      else next.set(name, value);
    }
    const text = next.toString();
    return text ? `${base}?${text}` : base;
  };

  const error = alertBox();
  const done = h("p", { role: "status", class: "notice", hidden: !notice }, notice);
  notice = "";
  const tagsPanel = h("section", { class: "card tags", "aria-labelledby": "tags-title" });
  const grid = h("ul", { class: "grid", "aria-label": "Images" });
  const pager = h("div", { class: "pager" });
  const filter = h("select", { name: "tag", disabled: !tagged });
  page.content.append(
    h("div", { class: "images-layout" },
      tagsPanel,
      h("section", { class: "images" },
        h("div", { class: "toolbar" },
          h("nav", { class: "views", "aria-label": "Images" },
            h("a", { href: hashFor({ view: null, page: null }), "aria-current": tagged ? "page" : null }, "Tagged"),
            h("a", { href: hashFor({ view: "untagged", tag: null, page: null }),
              "aria-current": tagged ? null : "page" }, "Untagged")),
          field("Filter by tag", filter),
          h("button", { type: "button", class: "primary", onclick: () => upload() }, "Add images"),
          h("button", { type: "button", onclick: () => importFile() }, "Import COCO"),
          tagged ? null : h("button", { type: "button", onclick: () => view.go(hashFor({ suggested: 1, page: null })) },
            "Get suggested tags"),
          h("button", { type: "button", onclick: (event) => exportFile(event.currentTarget) }, "Export COCO")),
        done, error, grid, pager)));

  let tags = [];
  async function exportFile(button) {
    clearError(error);
    button.disabled = true;
    try {
      await exportCoco(api, project, page.detection);
    } catch (problem) {
      showError(error, problem);
    } finally {
      button.disabled = false;
    }
  }
  async function importFile() {
    const summary = await openCocoImportDialog(api, { ...project, detection: page.detection });
    if (!summary) return;
    notice = summaryText(summary);
    view.go(hashFor({ page: null }));
  }
  async function upload() {
    if (await openUploadDialog(api, project, tags)) view.go(hashFor({ page: null }));
  }
  tags = await answerOrShow(error, api.tags(project.id));
  if (!tags || !view.current()) return;
  renderTags(tagsPanel, api, view, project, tags);
  filter.append(h("option", { value: "" }, "All tags"),
    ...tags.map((t) => h("option", { value: t.id, selected: t.id === tagFilter }, t.name)));
  filter.addEventListener("change", () => view.go(hashFor({ tag: filter.value, page: null })));

  const tagIds = tagFilter ? [tagFilter] : undefined;
  let images, count;
  try {
    [images, count] = await Promise.all([
      api.images(project.id, { tagged, tagIds, take: pageSize, skip: (pageNumber - 1) * pageSize }),
      api.imageCount(project.id, { tagged, tagIds }),
    ]);
  } catch (problem) {
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
  if (images.length === 0) {
    grid.append(h("li", { class: "empty" }, tagged ? "No tagged images here." : "No untagged images."));
  }
  for (const image of images) grid.append(thumbnail(api, view, project, image));
  const pages = Math.max(1, Math.ceil(count / pageSize));
  replace(pager,
    h("button", { type: "button", disabled: pageNumber <= 1,
      onclick: () => view.go(hashFor({ page: pageNumber - 1 })) }, "Previous page"),
    h("span", { "aria-live": "polite" }, `Page ${pageNumber} of ${pages} · ${count} images`),
    h("button", { type: "button", disabled: pageNumber >= pages,
      onclick: () => view.go(hashFor({ page: pageNumber + 1 })) }, "Next page"));
}

function thumbnail(api, view, project, image) {
  // A detector's image is tagged by its boxes: their tags name it, as the image's own tags do a classifier's.
  const names = [...new Set([...(image.tags || []), ...(image.regions || [])].map((t) => t.tagName))];
  const label = names.length ? `Image tagged ${names.join(", ")}` : "Untagged image";
  const picture = h("img", { alt: label, width: 160, height: 120 });
  api.imageFile(image.thumbnailUri).then((url) => {
    if (!view.current()) return URL.revokeObjectURL(url);
    picture.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    picture.src = url;
  }, () => picture.classList.add("missing"));
  return h("li", {}, h("a", { class: "thumbnail", href: `#/projects/${project.id}/images/${image.id}` }, picture,
    h("span", { class: "thumb-tags" }, names.join(", ") || "untagged")));
}

function renderTags(panel, api, view, project, tags) {
  const name = h("input", { name: "tagName", required: true, maxlength: 255 });
  const error = alertBox();
  const form = h("form", { class: "inline" }, field("Tag name", name),
    h("button", { type: "submit" }, "Create tag"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error);
    try {
      await api.createTag(project.id, name.value.trim());
      view.go(location.hash);
    } catch (problem) {
      showError(error, problem);
    }
  });
  replace(panel, h("h2", { id: "tags-title" }, "My Tags"),
    h("ul", { class: "tag-list", "aria-label": "Tags" }, tags.length === 0 ? h("li", { class: "muted" }, "No tags yet.")
      : tags.map((t) => h("li", {}, h("span", {}, t.name), h("span", { class: "count" }, String(t.imageCount))))),
    form, error);
}
