// "Get suggested tags" on the Untagged view: the Smart Labeler of the Custom Vision API. A trained iteration's
// predictions on every untagged image (suggest_tags_and_regions, 64 image ids a call), shown the least sure first
// by the API's predictionUncertainty, as Custom Vision sorts them. The threshold says which suggestions count: a
// classifier's tags at or above it (a multiclass project's best tag only), a detector's boxes at or above it, drawn
// on the thumbnail. "Confirm" adds them to the image (create_image_tags or create_image_regions), which moves it to
// Tagged; "Confirm all" does so for every image with a suggestion that counts.
import { alertBox, answerOrShow, clearError, field, h, percent, replace, showError } from "./dom.js";

const SUGGEST_BATCH = 64; // image ids in one suggest_tags_and_regions call
const LIST_TAKE = 256; // untagged images in one listing call
const CONFIRM_BATCH = 64; // tags or regions in one create call

// The suggestions that count at `cut`: [{tagId, tagName, probability, boundingBox?}].
export function counted(predictions, cut, detection, multiclass) {
  const above = predictions.filter((p) => p.probability >= cut && (!detection || p.boundingBox));
  if (detection || !multiclass) return above;
  return above.length ? [above.reduce((a, b) => (b.probability > a.probability ? b : a))] : [];
}

// A thumbnail with boxes drawn on it (normalized to the image), as CSSOM styles the page's policy allows.
export function boxedThumbnail(api, view, uri, label, boxes) {
  const picture = h("img", { alt: label, width: 160, height: 120 });
  api.imageFile(uri).then((url) => {
    if (!view.current()) return URL.revokeObjectURL(url);
    picture.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
    picture.src = url;
  }, () => picture.classList.add("missing"));
  const layer = h("div", { class: "region-layer" });
  const frame = h("div", { class: "frame boxed" }, picture, layer);
  frame.setBoxes = (list) => replace(layer, list.map((p) => h("div", {
    class: "region", "data-testid": "suggested-box",
    style: { left: `${p.boundingBox.left * 100}%`, top: `${p.boundingBox.top * 100}%`,
      width: `${p.boundingBox.width * 100}%`, height: `${p.boundingBox.height * 100}%` },
  }, h("span", {}, `${p.tagName} ${percent(p.probability)}`))));
  frame.setBoxes(boxes);
  return frame;
}

async function untaggedImages(api, projectId) {
  const images = [];
  for (;;) {
    const batch = await api.images(projectId, { tagged: false, take: LIST_TAKE, skip: images.length });
    images.push(...batch);
    if (batch.length < LIST_TAKE) return images;
  }
}

function chunks(items, size) {
  const out = [];
  for (let k = 0; k < items.length; k += size) out.push(items.slice(k, k + size));
  return out;
}

export async function renderSuggestions(page, api, view, query) {
  const { project, detection } = page;
  const multiclass = project.settings.classificationType !== "Multilabel";
  const base = `#/projects/${project.id}/images`;
  const error = alertBox();
  const status = h("p", { role: "status", class: "muted", "data-testid": "suggestion-status" }, "");
  const grid = h("ul", { class: "grid suggestions", "aria-label": "Suggestions" });
  const iterationChoice = h("select", { name: "iteration" });
  const threshold = h("input", { type: "range", name: "threshold", min: 0, max: 100,
    value: Number(query.get("threshold") || 50) });
  const thresholdText = h("output", {}, `${threshold.value}%`);
  const confirmAll = h("button", { type: "button", class: "primary", disabled: true, onclick: () => confirmEvery() },
    "Confirm all");
  page.content.append(h("section", { class: "images suggested" },
    h("div", { class: "toolbar" },
      h("nav", { class: "views", "aria-label": "Images" },
        h("a", { href: base }, "Tagged"), h("a", { href: `${base}?view=untagged`, "aria-current": "page" }, "Untagged")),
      field("Iteration", iterationChoice),
      h("div", { class: "threshold" }, field("Suggestion threshold", threshold,
        "Suggestions at or above it are confirmed."), thresholdText),
      confirmAll),
    h("h2", {}, "Suggested tags"),
    h("p", { class: "muted" }, "The least sure first: confirming those teaches the next iteration most."),
    status, error, grid));

  const iterations = await answerOrShow(error, api.trainedIterations(project.id));
  if (!iterations || !view.current()) return;
  if (iterations.length === 0) {
    status.textContent = "No trained iteration yet: Train first, then get suggested tags.";
    iterationChoice.disabled = true;
    return;
  }
  const chosen = query.get("iteration");
  iterationChoice.append(...iterations.map((i) => h("option", { value: i.id, selected: i.id === chosen }, i.name)));
  iterationChoice.addEventListener("change", () => view.go(
    `${base}?view=untagged&suggested=1&iteration=${iterationChoice.value}&threshold=${threshold.value}`));

  let cards = []; // {image, suggestion, element, confirm, tags, frame}
  const cut = () => Number(threshold.value) / 100;
  const refresh = () => {
    thresholdText.textContent = `${threshold.value}%`;
    for (const card of cards) showCard(card);
    confirmAll.disabled = !cards.some((c) => counted(c.suggestion.predictions, cut(), detection, multiclass).length);
    if (cards.length === 0) replace(grid, h("li", { class: "empty" }, "No untagged images."));
  };
  threshold.addEventListener("input", refresh);

  let images;
  try {
    images = await untaggedImages(api, project.id);
    const suggestions = [];
    for (const [k, batch] of chunks(images, SUGGEST_BATCH).entries()) {
      if (!view.current()) return;
      status.textContent = `Getting suggested tags for ${images.length} images… (${k * SUGGEST_BATCH} done)`;
      suggestions.push(...await api.suggestTags(project.id, iterationChoice.value, batch.map((i) => i.id)));
    }
    const byId = new Map(suggestions.map((s) => [s.id, s]));
    cards = images.filter((i) => byId.has(i.id)).map((image) => ({ image, suggestion: byId.get(image.id) }));
  } catch (problem) {
    status.textContent = "";
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
  // The least sure first; the same uncertainty ties keep the listing's order (the newest first).
  cards.sort((a, b) => b.suggestion.predictionUncertainty - a.suggestion.predictionUncertainty);
  for (const card of cards) buildCard(card);
  grid.replaceChildren(...cards.map((c) => c.element));
  status.textContent = `${cards.length} untagged images with suggestions`;
  refresh();

  function buildCard(card) {
    const { image, suggestion } = card;
    card.tags = h("ul", { class: "suggested-tags", "aria-label": "Suggested tags" });
    card.frame = boxedThumbnail(api, view, image.thumbnailUri, "Untagged image", []);
    card.confirm = h("button", { type: "button", onclick: () => confirmCards([card]) }, "Confirm");
    card.element = h("li", { class: "suggestion", "data-image-id": image.id },
      h("a", { class: "thumbnail", href: `${base}/${image.id}` }, card.frame),
      h("p", { class: "muted", "data-testid": "uncertainty" }, `Uncertainty ${percent(suggestion.predictionUncertainty)}`),
      card.tags, card.confirm);
  }

  function showCard(card) {
    const predictions = [...card.suggestion.predictions].sort((a, b) => b.probability - a.probability);
    const chosenOnes = counted(predictions, cut(), detection, multiclass);
    const shown = detection ? chosenOnes : predictions.slice(0, 5);
    replace(card.tags, shown.length === 0 ? h("li", { class: "muted" }, "No suggestion at this threshold")
      : shown.map((p) => h("li", { class: chosenOnes.includes(p) ? "counted" : "below" },
        h("span", {}, p.tagName), h("span", { class: "count" }, percent(p.probability)))));
    if (detection) card.frame.setBoxes(chosenOnes);
    card.confirm.disabled = chosenOnes.length === 0;
  }

  async function confirmCards(chosen) {
    clearError(error);
    const work = chosen.map((card) => ({ card, picks: counted(card.suggestion.predictions, cut(), detection, multiclass) }))
      .filter((w) => w.picks.length);
    if (work.length === 0) return;
    for (const w of work) w.card.confirm.disabled = true;
    confirmAll.disabled = true;
    try {
      if (detection) {
        const regions = work.flatMap(({ card, picks }) => picks.map((p) => ({ imageId: card.image.id, tagId: p.tagId,
          left: p.boundingBox.left, top: p.boundingBox.top, width: p.boundingBox.width, height: p.boundingBox.height })));
        for (const batch of chunks(regions, CONFIRM_BATCH)) await api.createRegions(project.id, batch);
      } else {
        const tags = work.flatMap(({ card, picks }) => picks.map((p) => ({ imageId: card.image.id, tagId: p.tagId })));
        for (const batch of chunks(tags, CONFIRM_BATCH)) await api.tagImages(project.id, batch);
      }
    } catch (problem) {
      showError(error, problem);
      refresh();
      return;
    }
    if (!view.current()) return;
    const done = new Set(work.map((w) => w.card));
    for (const card of done) card.element.remove();
    cards = cards.filter((c) => !done.has(c));
    status.textContent = `${done.size} confirmed into Tagged; ${cards.length} untagged images with suggestions`;
    refresh();
  }

  function confirmEvery() {
    return confirmCards(cards);
  }
}
