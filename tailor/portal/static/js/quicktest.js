// Quick Test: an image file or URL against a completed iteration; the tags with their probabilities, or for a
// detector the boxes drawn on the image, with the threshold applied as the slider moves (prediction-view.js).
import { alertBox, clearError, field, h, showError } from "./dom.js";
import { predictionView } from "./prediction-view.js";

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
  const results = predictionView();

  const run = async (call) => {
    clearError(error);
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
    run(() => api.quickTestFile(project.id, iteration.value, chosen));
  });
  const urlForm = h("form", { class: "inline" }, field("Image URL", url), h("button", { type: "submit" }, "Test URL"));
  urlForm.addEventListener("submit", (event) => {
    event.preventDefault();
    results.image(null);
    run(() => api.quickTestUrl(project.id, iteration.value, url.value.trim()));
  });
  page.content.append(h("section", { class: "card quick-test" }, h("h2", {}, "Quick Test"),
    field("Iteration", iteration), field("Image file", file), urlForm, ...results.element));
}
