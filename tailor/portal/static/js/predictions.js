// Predictions: the images Tailor kept from quick tests and prediction calls (query_predictions, the newest first),
// each with its predicted tags (a detector's boxes drawn on it); "Delete" forgets one (delete_prediction), "Add to
// training images" makes it a training image with the tags (or boxes) chosen (create_images_from_predictions).
import { formDialog } from "./dialog.js";
import { alertBox, answerOrShow, clearError, h, percent, replace, showError } from "./dom.js";
import { boxedThumbnail } from "./suggestions.js";

const PAGE = 50;
const SHOWN_CUT = 0.5; // a detector's boxes drawn, and the tags and boxes checked first in "Add to training images"

const counting = (n) => (n === 1 ? "1 stored prediction" : `${n} stored predictions`);

export async function renderPredictions(page, api, view) {
  const { project, detection } = page;
  const error = alertBox();
  const status = h("p", { role: "status", class: "muted" }, "");
  const grid = h("ul", { class: "grid suggestions", "aria-label": "Predictions" });
  const more = h("button", { type: "button", hidden: true, onclick: () => load() }, "Load more");
  page.content.append(h("section", { class: "images" }, h("h2", {}, "Predictions"),
    h("p", { class: "muted" }, "Images sent to Quick Test or to the prediction API, kept with what the model said."),
    status, error, grid, h("div", { class: "pager" }, more)));

  let token = { maxCount: PAGE, orderBy: "Newest" };
  let shown = 0;
  async function load() {
    clearError(error);
    more.disabled = true;
    let answer;
    try {
      answer = await api.predictions(project.id, token);
    } catch (problem) {
      showError(error, problem);
      return;
    } finally {
      more.disabled = false;
    }
    if (!view.current()) return;
    for (const prediction of answer.results) grid.append(card(prediction));
    shown += answer.results.length;
    token = answer.token;
    more.hidden = !token.continuation;
    if (shown === 0) replace(grid, h("li", { class: "empty" }, "No stored predictions yet: Quick Test keeps its images here."));
    status.textContent = counting(grid.querySelectorAll("li.suggestion").length);
  }

  function card(prediction) {
    const predictions = [...prediction.predictions].sort((a, b) => b.probability - a.probability);
    const boxes = detection ? predictions.filter((p) => p.boundingBox && p.probability >= SHOWN_CUT) : [];
    const rows = detection ? boxes : predictions.slice(0, 5);
    const note = h("p", { class: "muted", role: "status" }, "");
    const when = new Date(prediction.created).toLocaleString();
    const element = h("li", { class: "suggestion", "data-prediction-id": prediction.id },
      h("div", { class: "thumbnail" }, boxedThumbnail(api, view, prediction.thumbnailUri, `Prediction of ${when}`, boxes)),
      h("p", { class: "muted" }, when),
      h("ul", { class: "suggested-tags", "aria-label": "Predicted tags" }, rows.length === 0
        ? h("li", { class: "muted" }, "Nothing predicted") : rows.map((p) => h("li", {},
          h("span", {}, p.tagName), h("span", { class: "count" }, percent(p.probability))))),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: () => addToTraining(prediction, predictions, note) },
          "Add to training images"),
        h("button", { type: "button", class: "danger", onclick: () => remove(prediction, element) }, "Delete")),
      note);
    return element;
  }

  async function remove(prediction, element) {
    clearError(error);
    try {
      await api.deletePredictions(project.id, [prediction.id]);
    } catch (problem) {
      showError(error, problem);
      return;
    }
    element.remove();
    shown -= 1;
    if (!grid.querySelector("li.suggestion")) replace(grid, h("li", { class: "empty" }, "No stored predictions."));
    status.textContent = counting(grid.querySelectorAll("li.suggestion").length);
  }

  async function addToTraining(prediction, predictions, note) {
    const tags = await answerOrShow(error, api.tags(project.id));
    if (!tags) return;
    // A classifier: the project's tags, the predicted best checked; a detector: the predicted boxes, those at or
    // above SHOWN_CUT checked.
    const choices = detection
      ? predictions.filter((p) => p.boundingBox).map((p) => ({ p, label: `${p.tagName} ${percent(p.probability)}`,
        checked: p.probability >= SHOWN_CUT }))
      : tags.map((t) => ({ t, label: t.name,
        checked: predictions.length > 0 && predictions[0].tagId === t.id && predictions[0].probability >= SHOWN_CUT }));
    const boxes = choices.map((c) => ({ ...c, input: h("input", { type: "checkbox", checked: c.checked }) }));
    const added = await formDialog({
      title: "Add to training images",
      submitLabel: "Add",
      body: h("fieldset", { class: "choices" }, h("legend", {}, detection ? "Regions" : "Tags"),
        boxes.length === 0 ? h("p", { class: "muted" }, detection ? "No boxes predicted." : "No tags yet.")
          : boxes.map((c) => h("label", { class: "choice" }, c.input, c.label))),
      submit: async () => {
        const picked = boxes.filter((c) => c.input.checked);
        if (picked.length === 0) throw new Error(detection ? "Check at least one region." : "Check at least one tag.");
        const entry = detection
          ? { id: prediction.id, regions: picked.map(({ p }) => ({ tagId: p.tagId, ...p.boundingBox })) }
          : { id: prediction.id, tagIds: picked.map(({ t }) => t.id) };
        const summary = await api.imagesFromPredictions(project.id, [entry]);
        const failed = (summary.images || []).find((i) => i.status !== "OK" && i.status !== "OKDuplicate");
        if (failed) throw new Error(`Not added: ${failed.status}`);
        return summary;
      },
    });
    if (added && view.current()) note.textContent = "Added to training images";
  }

  await load();
}
