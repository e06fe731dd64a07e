// Quick Test: an image file or URL against a completed iteration; the tags with their probabilities, or for a
// detector the boxes drawn on the image, with the threshold applied as the slider moves (prediction-view.js).
import { alertBox, answerOrShow, field, h } from "./dom.js";
import { imageTestControls, predictionView } from "./prediction-view.js";

export async function renderQuickTest(page, api, view) {
  const { project } = page;
  const error = alertBox();
  page.content.append(error);
  const iterations = await answerOrShow(error, api.trainedIterations(project.id));
  if (!iterations || !view.current()) return;
  if (iterations.length === 0) {
    page.content.append(h("p", { class: "empty" }, "No trained iteration yet: Train first, then test it here."));
    return;
  }
  const iteration = h("select", { name: "iteration" },
    iterations.map((i) => h("option", { value: i.id }, i.publishName ? `${i.name} (${i.publishName})` : i.name)));
  const results = predictionView();
  const controls = imageTestControls(results, error, {
    file: (chosen) => api.quickTestFile(project.id, iteration.value, chosen),
    url: (address) => api.quickTestUrl(project.id, iteration.value, address),
  });
  page.content.append(h("section", { class: "card quick-test" }, h("h2", {}, "Quick Test"),
    field("Iteration", iteration), ...controls, ...results.element));
}
