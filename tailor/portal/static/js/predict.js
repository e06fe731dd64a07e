// Quick Test for a prediction key: the only page a prediction key opens. The Prediction API lists nothing, so the
// person names the published iteration: its project ID and publish name, typed or read from a pasted prediction URL
// (.../customvision/v3.x/Prediction/{projectId}/{classify|detect}/iterations/{publishedName}/...), and the
// project's type (classify or detect). Nothing here calls the training API.
import { alertBox, field, h } from "./dom.js";
import { imageTestControls, predictionView } from "./prediction-view.js";

const PREDICTION_URL = /\/prediction\/([^/?#]+)\/(classify|detect)\/iterations\/([^/?#]+)/i;

export function renderPredictionQuickTest(main, api) {
  const error = alertBox();
  const pasted = h("input", { type: "url", name: "predictionUrl", autocomplete: "off",
    placeholder: "https://…/customvision/v3.0/Prediction/…/classify/iterations/…/image" });
  const projectId = h("input", { type: "text", name: "projectId", autocomplete: "off", required: true });
  const publishedName = h("input", { type: "text", name: "publishedName", autocomplete: "off", required: true });
  const kind = h("select", { name: "kind" },
    h("option", { value: "classify" }, "Classification"), h("option", { value: "detect" }, "Object detection"));
  const results = predictionView();

  pasted.addEventListener("input", () => {
    const found = PREDICTION_URL.exec(pasted.value.trim());
    if (!found) return;
    projectId.value = decodeURIComponent(found[1]);
    kind.value = found[2].toLowerCase();
    publishedName.value = decodeURIComponent(found[3]);
  });

  const named = () => [projectId.value.trim(), publishedName.value.trim(), kind.value];
  const controls = imageTestControls(results, error, {
    missing: () => (projectId.value.trim() && publishedName.value.trim() ? null
      : "Enter the project ID and the published name (or paste the prediction URL) first."),
    file: (chosen) => api.predictFile(...named(), chosen),
    url: (address) => api.predictUrl(...named(), address),
  });
  main.append(
    h("div", { class: "page-head" }, h("div", {},
      h("h1", {}, "Quick Test"),
      h("p", { class: "muted" }, "Signed in with a prediction key: test an image against a published iteration."))),
    h("section", { class: "card quick-test" },
      field("Prediction URL", pasted, "Paste the iteration's prediction URL to fill in the fields below."),
      h("div", { class: "key-fields" }, field("Project ID", projectId), field("Published name", publishedName),
        field("Project type", kind)),
      error, ...controls, ...results.element));
}
