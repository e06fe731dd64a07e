// An answer of Quick Test or of the Prediction API, with the probability threshold applied here as the slider moves
// (no new call): the tags with their probabilities, those under the threshold dimmed; and for a detector, the boxes
// drawn on the tested image, each with its tag and probability, only those at or above the threshold.
import { clearError, field, h, percent, replace, showError } from "./dom.js";

export function predictionView() {
  const threshold = h("input", { type: "range", name: "threshold", min: 0, max: 100, value: 50 });
  const thresholdText = h("output", {}, "50%");
  const picture = h("img", { alt: "The tested image", class: "full" });
  const boxes = h("div", { class: "region-layer", "data-testid": "prediction-boxes" });
  const frame = h("div", { class: "frame prediction-frame", hidden: true }, picture, boxes);
  const results = h("div", { class: "results", "aria-live": "polite" });
  let predictions = [];

  const show = () => {
    const cut = Number(threshold.value) / 100;
    thresholdText.textContent = `${threshold.value}%`;
    const detection = predictions.some((p) => p.boundingBox);
    const kept = predictions.filter((p) => p.probability >= cut);
    replace(boxes, detection ? kept.filter((p) => p.boundingBox).map((p) => {
      const box = p.boundingBox;
      const text = `${p.tagName} ${percent(p.probability)}`;
      return h("div", {
        class: "region", role: "img", "aria-label": text,
        style: { left: `${box.left * 100}%`, top: `${box.top * 100}%`, width: `${box.width * 100}%`,
          height: `${box.height * 100}%` },
      }, h("span", {}, text));
    }) : null);
    if (predictions.length === 0) return replace(results);
    const noun = (detection ? "object" : "tag") + (kept.length === 1 ? "" : "s");
    return replace(results, h("div", { class: "scroll" }, h("table", { "aria-label": "Predictions" },
      h("thead", {}, h("tr", {}, h("th", {}, "Tag"), h("th", {}, "Probability"))),
      h("tbody", {}, predictions.map((p) => h("tr", { class: p.probability >= cut ? "" : "below" },
        h("td", {}, p.tagName), h("td", {}, percent(p.probability))))))),
    h("p", { class: "muted" }, `${kept.length} ${noun} at or above the threshold`));
  };
  threshold.addEventListener("input", show);

  return {
    element: [h("div", { class: "threshold" }, field("Probability threshold", threshold), thresholdText),
      frame, results],
    // A chosen file is shown (a blob: URL, as the page's policy allows); an image at a URL is not loaded here.
    image(file) {
      if (picture.src) URL.revokeObjectURL(picture.src);
      picture.removeAttribute("src");
      frame.hidden = !file;
      if (file) picture.src = URL.createObjectURL(file);
    },
    testing() {
      predictions = [];
      show();
      replace(results, h("p", { class: "muted" }, "Testing…"));
    },
    answer(answer) {
      predictions = [...answer.predictions].sort((a, b) => b.probability - a.probability);
      show();
    },
    clear() {
      predictions = [];
      show();
    },
  };
}

// The two ways to send an image to test, a file and a URL, with the answer shown in `results` and a failure in
// `error`. `test.file(chosen)` and `test.url(address)` make the call; `test.missing()` says what must be filled in
// first, if anything.
export function imageTestControls(results, error, test) {
  const file = h("input", { type: "file", name: "image", accept: "image/*" });
  const url = h("input", { type: "url", name: "url", placeholder: "https://…" });
  const run = async (call) => {
    clearError(error);
    const missing = test.missing ? test.missing() : null;
    if (missing) {
      showError(error, missing);
      return;
    }
    results.testing();
    try {
      results.answer(await call());
    } catch (problem) {
      results.clear();
      showError(error, problem);
    }
  };
  file.addEventListener("change", () => {
    const chosen = file.files[0];
    if (!chosen) return;
    results.image(chosen);
    run(() => test.file(chosen));
  });
  const urlForm = h("form", { class: "inline" }, field("Image URL", url), h("button", { type: "submit" }, "Test URL"));
  urlForm.addEventListener("submit", (event) => {
    event.preventDefault();
    results.image(null);
    run(() => test.url(url.value.trim()));
  });
  return [field("Image file", file), urlForm];
}
