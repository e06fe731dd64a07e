// Quick Test: an image file or URL against a completed iteration; the tags with their probabilities, those under
// the threshold dimmed (the threshold is applied here, without a new call, as the slider moves).
import { alertBox, clearError, field, h, percent, replace, showError } from "./dom.js";

export async function renderQuickTest(page, api, view) {
  const { project } = page;
  const error = alertBox();
  page.content.append(error);
  let iterations;
  try {
    iterations = (await api.iterations(project.id)).filter((i) => i.status === "Completed").reverse();
  } catch (problem) {
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
  if (iterations.length === 0) {
    page.content.append(h("p", { class: "empty" }, "No trained iteration yet: Train first, then test it here."));
    return;
  }
  const iteration = h("select", { name: "iteration" },
    iterations.map((i) => h("option", { value: i.id }, i.publishName ? `${i.name} (${i.publishName})` : i.name)));
  const file = h("input", { type: "file", name: "image", accept: "image/*" });
  const url = h("input", { type: "url", name: "url", placeholder: "https://…" });
  const threshold = h("input", { type: "range", name: "threshold", min: 0, max: 100, value: 50 });
  const thresholdText = h("output", {}, "50%");
  const preview = h("img", { alt: "The tested image", class: "preview", hidden: true });
  const results = h("div", { class: "results", "aria-live": "polite" });
  let predictions = [];

  const show = () => {
    const cut = Number(threshold.value) / 100;
    thresholdText.textContent = `${threshold.value}%`;
    if (predictions.length === 0) return replace(results);
    replace(results, h("div", { class: "scroll" }, h("table", { "aria-label": "Predictions" },
      h("thead", {}, h("tr", {}, h("th", {}, "Tag"), h("th", {}, "Probability"))),
      h("tbody", {}, predictions.map((p) => h("tr", { class: p.probability >= cut ? "" : "below" },
        h("td", {}, p.tagName), h("td", {}, percent(p.probability))))))),
    h("p", { class: "muted" }, `${predictions.filter((p) => p.probability >= cut).length} tags at or above the threshold`));
  };
  const run = async (call) => {
    clearError(error);
    replace(results, h("p", { class: "muted" }, "Testing…"));
    try {
      const answer = await call();
      predictions = [...answer.predictions].sort((a, b) => b.probability - a.probability);
      show();
    } catch (problem) {
      predictions = [];
      replace(results);
      showError(error, problem);
    }
  };
  file.addEventListener("change", () => {
    const chosen = file.files[0];
    if (!chosen) return;
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(chosen);
    preview.hidden = false;
    run(() => api.quickTestFile(project.id, iteration.value, chosen));
  });
  const urlForm = h("form", { class: "inline" }, field("Image URL", url), h("button", { type: "submit" }, "Test URL"));
  urlForm.addEventListener("submit", (event) => {
    event.preventDefault();
    preview.hidden = true;
    run(() => api.quickTestUrl(project.id, iteration.value, url.value.trim()));
  });
  threshold.addEventListener("input", show);
  page.content.append(h("section", { class: "card quick-test" }, h("h2", {}, "Quick Test"),
    field("Iteration", iteration), field("Image file", file), urlForm,
    h("div", { class: "threshold" }, field("Probability threshold", threshold), thresholdText),
    preview, results));
}
