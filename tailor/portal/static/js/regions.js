// A detector's boxes on one image, edited with the mouse and the keys: drag on the picture to draw a box (with the
// tag chosen in "Region tag"), click a box to select it, drag it to move it, drag a corner handle to resize it,
// choose another tag to relabel it, "Delete region" or the Delete key to delete it, the arrow keys to nudge it.
// Every change is saved through the public API at once: a new box is create_image_regions (left, top, width and
// height normalized to the image), and since the Custom Vision API has no update, a moved, resized or relabelled box
// is a new region created, then the old one deleted.
import { alertBox, clearError, field, h, replace, showError } from "./dom.js";

const MIN_SIZE = 0.01; // a drag smaller than this (a click) draws nothing
const CLICK_PX = 3; // a press that moves less than this selects, and changes nothing
const NUDGE = 0.01; // one arrow key press: 1% of the image (Shift: 5%)
const NUDGE_SAVE_MS = 400; // arrow presses in a row are saved once, when they stop
const CORNERS = ["nw", "ne", "sw", "se"];

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

// A box kept inside the image, with its sides in [0, 1].
function inside(box) {
  const width = clamp(box.width, 0, 1);
  const height = clamp(box.height, 0, 1);
  return { ...box, width, height, left: clamp(box.left, 0, 1 - width), top: clamp(box.top, 0, 1 - height) };
}

function sameBox(a, b) {
  return a.tagId === b.tagId && ["left", "top", "width", "height"].every((k) => Math.abs(a[k] - b[k]) < 1e-6);
}

export function regionEditor({ api, project, image, tags, picture, view, onChange }) {
  const error = alertBox();
  const status = h("p", { role: "status", class: "muted", "data-testid": "region-status" }, "");
  let regions = (image.regions || []).map((r) => ({ ...r }));
  let selected = null; // index into regions
  let saving = Promise.resolve();
  let pending = 0;
  let nudgeTimer = null;
  let nudgeFrom = null;

  const layer = h("div", { class: "region-layer", "data-testid": "region-layer" });
  const frame = h("div", {
    class: "frame editor", tabindex: 0,
    "aria-label": "The image's regions: drag to draw a box, click a box to select it",
  }, picture, layer);
  const tagChoice = h("select", { name: "regionTag" }, tags.map((t) => h("option", { value: t.id }, t.name)));
  const deleteButton = h("button", { type: "button", class: "danger", disabled: true, onclick: () => remove() },
    "Delete region");
  const list = h("ul", { class: "tag-list", "aria-label": "Regions of this image" });
  const hint = tags.length === 0
    ? h("p", { class: "muted" }, "Create a tag on Training Images first: every box needs one.") : null;
  const panel = h("section", { class: "card" }, h("h2", {}, "Regions"), hint,
    field("Region tag", tagChoice, "The tag of the selected box, or of the next box drawn."),
    h("div", { class: "actions" }, deleteButton), list, status, error);

  const tagName = (tagId) => (tags.find((t) => t.id === tagId) || {}).name || "?";

  // Saves run one after another, in the order they were made.
  const save = (action) => {
    pending += 1;
    status.textContent = "Saving…";
    clearError(error);
    saving = saving.then(action).catch((problem) => {
      showError(error, problem);
    }).finally(() => {
      pending -= 1;
      if (pending === 0) {
        status.textContent = error.hidden ? "All changes saved" : "Not saved";
        if (onChange) onChange();
      }
    });
    return saving;
  };

  const createOne = async (box) => {
    const summary = await api.createRegions(project.id, [{
      imageId: image.id, tagId: box.tagId, left: box.left, top: box.top, width: box.width, height: box.height,
    }]);
    if (!summary.created || summary.created.length === 0) {
      const why = summary.exceeded && summary.exceeded.length ? "the image has as many regions as it may"
        : "the image already has that box";
      throw new Error(`The region was not saved: ${why}.`);
    }
    return summary.created[0];
  };

  // A box that changed: the new region is created first, so that a refusal leaves the old one in place.
  const replaceRegion = (region, before) => save(async () => {
    try {
      const created = await createOne(region);
      const old = region.regionId;
      region.regionId = created.regionId;
      region.tagName = created.tagName;
      if (old) await api.deleteRegions(project.id, [old]);
    } catch (problem) {
      Object.assign(region, before);
      draw();
      throw problem;
    }
  });

  const add = (box) => {
    const region = { ...box, regionId: null, tagName: tagName(box.tagId) };
    regions.push(region);
    selected = regions.length - 1;
    draw();
    save(async () => {
      try {
        const created = await createOne(region);
        region.regionId = created.regionId;
      } catch (problem) {
        const at = regions.indexOf(region);
        if (at >= 0) regions.splice(at, 1);
        if (selected !== null && selected >= regions.length) selected = null;
        draw();
        throw problem;
      }
    });
  };

  const changed = (region, before) => {
    if (sameBox(region, before)) return;
    draw();
    replaceRegion(region, before);
  };

  const remove = () => {
    if (selected === null) return;
    const [region] = regions.splice(selected, 1);
    selected = null;
    draw();
    save(async () => {
      if (region.regionId) await api.deleteRegions(project.id, [region.regionId]);
    });
  };

  const select = (index) => {
    selected = index;
    draw();
    frame.focus({ preventScroll: true });
  };

  function draw() {
    replace(layer, regions.map((r, index) => {
      const isSelected = index === selected;
      return h("div", {
        class: isSelected ? "region selected" : "region", "data-index": index, title: r.tagName,
        style: { left: `${r.left * 100}%`, top: `${r.top * 100}%`, width: `${r.width * 100}%`,
          height: `${r.height * 100}%` },
      }, h("span", {}, r.tagName),
      isSelected ? CORNERS.map((c) => h("div", { class: `handle ${c}`, "data-corner": c })) : null);
    }));
    replace(list, regions.length === 0 ? h("li", { class: "muted" }, "No regions yet: drag on the image to draw one.")
      : regions.map((r, index) => h("li", {}, h("button", {
        type: "button", class: "link", "aria-pressed": index === selected ? "true" : "false",
        onclick: () => select(index),
      }, `Region ${index + 1}: ${r.tagName}`))));
    deleteButton.disabled = selected === null;
    if (selected !== null) tagChoice.value = regions[selected].tagId;
  }

  // The pointer, in the image's normalized coordinates.
  const at = (event) => {
    const rect = picture.getBoundingClientRect();
    return { x: clamp((event.clientX - rect.left) / rect.width, 0, 1),
      y: clamp((event.clientY - rect.top) / rect.height, 0, 1), px: event.clientX, py: event.clientY };
  };

  let gesture = null; // {kind: "draw" | "move" | "resize", start, region, before, corner}
  frame.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !picture.complete) return;
    event.preventDefault(); // no text selection, no image drag
    frame.focus({ preventScroll: true });
    const start = at(event);
    const handle = event.target.closest("[data-corner]");
    const box = event.target.closest(".region");
    if (handle && selected !== null) {
      const region = regions[selected];
      gesture = { kind: "resize", start, region, before: { ...region }, corner: handle.dataset.corner };
    } else if (box) {
      const index = Number(box.dataset.index);
      if (index !== selected) select(index);
      const region = regions[index];
      gesture = { kind: "move", start, region, before: { ...region } };
    } else {
      if (tags.length === 0) return;
      const ghost = h("div", { class: "region drawing" });
      layer.append(ghost);
      gesture = { kind: "draw", start, ghost, box: null };
    }
    frame.setPointerCapture(event.pointerId);
  });

  frame.addEventListener("pointermove", (event) => {
    if (!gesture) return;
    const now = at(event);
    const { start } = gesture;
    if (gesture.kind === "draw") {
      const box = { left: Math.min(start.x, now.x), top: Math.min(start.y, now.y),
        width: Math.abs(now.x - start.x), height: Math.abs(now.y - start.y) };
      gesture.box = box;
      Object.assign(gesture.ghost.style, { left: `${box.left * 100}%`, top: `${box.top * 100}%`,
        width: `${box.width * 100}%`, height: `${box.height * 100}%` });
      return;
    }
    const { region, before } = gesture;
    if (gesture.kind === "move") {
      Object.assign(region, inside({ ...before, left: before.left + now.x - start.x, top: before.top + now.y - start.y }));
    } else {
      const { corner } = gesture;
      const fixedX = corner.includes("w") ? before.left + before.width : before.left;
      const fixedY = corner.includes("n") ? before.top + before.height : before.top;
      Object.assign(region, { left: Math.min(fixedX, now.x), top: Math.min(fixedY, now.y),
        width: Math.max(Math.abs(now.x - fixedX), MIN_SIZE), height: Math.max(Math.abs(now.y - fixedY), MIN_SIZE) });
      Object.assign(region, inside(region));
    }
    draw();
  });

  const finish = (event) => {
    if (!gesture) return;
    const done = gesture;
    gesture = null;
    if (frame.hasPointerCapture(event.pointerId)) frame.releasePointerCapture(event.pointerId);
    const moved = Math.hypot(event.clientX - done.start.px, event.clientY - done.start.py) >= CLICK_PX;
    if (done.kind === "draw") {
      done.ghost.remove();
      if (moved && done.box && done.box.width >= MIN_SIZE && done.box.height >= MIN_SIZE) {
        add({ ...done.box, tagId: tagChoice.value });
      } else if (selected !== null) {
        select(null); // a click beside every box: nothing selected
      }
      return;
    }
    if (!moved) {
      Object.assign(done.region, done.before);
      draw();
      return;
    }
    changed(done.region, done.before);
  };
  frame.addEventListener("pointerup", finish);
  frame.addEventListener("pointercancel", (event) => {
    if (gesture && gesture.region) Object.assign(gesture.region, gesture.before);
    if (gesture && gesture.ghost) gesture.ghost.remove();
    gesture = null;
    draw();
    if (frame.hasPointerCapture(event.pointerId)) frame.releasePointerCapture(event.pointerId);
  });

  const flushNudge = () => {
    if (nudgeTimer === null) return;
    clearTimeout(nudgeTimer);
    nudgeTimer = null;
    const { region, before } = nudgeFrom;
    nudgeFrom = null;
    if (regions.includes(region)) changed(region, before);
  };

  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  frame.addEventListener("keydown", (event) => {
    if (selected === null) return;
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      if (nudgeTimer !== null) { clearTimeout(nudgeTimer); nudgeTimer = null; nudgeFrom = null; }
      remove();
    } else if (event.key === "Escape") {
      select(null);
    } else if (ARROWS[event.key]) {
      event.preventDefault();
      const region = regions[selected];
      if (!nudgeFrom || nudgeFrom.region !== region) {
        flushNudge();
        nudgeFrom = { region, before: { ...region } };
      }
      const step = event.shiftKey ? NUDGE * 5 : NUDGE;
      const [dx, dy] = ARROWS[event.key];
      Object.assign(region, inside({ ...region, left: region.left + dx * step, top: region.top + dy * step }));
      draw();
      status.textContent = "Not saved yet";
      clearTimeout(nudgeTimer);
      nudgeTimer = setTimeout(() => { nudgeTimer = -1; flushNudge(); }, NUDGE_SAVE_MS);
    }
  });

  tagChoice.addEventListener("change", () => {
    if (selected === null) return;
    const region = regions[selected];
    const before = { ...region };
    region.tagId = tagChoice.value;
    region.tagName = tagName(region.tagId);
    changed(region, before);
  });

  draw();
  return { frame, panel, settled: () => saving };
}
