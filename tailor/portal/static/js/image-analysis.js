// The Image Analysis view (read-only): the face's datasets, its models with their status and training progress
// (phase, trials, best validation score, budget used), and each model's evaluations with their reports. A report is
// an HTML page behind the key: "Report" fetches it with the key and hands it to the browser as a file.
import { alertBox, h, percent, showError } from "./dom.js";

function table(label, headings, rows) {
  return h("div", { class: "scroll" }, h("table", { "aria-label": label },
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", {}, text)))),
    h("tbody", {}, rows)));
}

const day = (time) => (time ? time.slice(0, 16).replace("T", " ") : "–");

function progressText(model) {
  const progress = model.trainingProgress || {};
  if (!progress.budgetSeconds && progress.trialsDone === undefined) return "–";
  const parts = [];
  if (progress.phase) parts.push(progress.phase);
  if (progress.trialsDone !== undefined) parts.push(`${progress.trialsDone} trials`);
  if (progress.bestValidationScore != null) parts.push(`best ${percent(progress.bestValidationScore)}`);
  if (progress.budgetSeconds) {
    parts.push(`${Math.round(progress.budgetUsedSeconds || 0)} s of ${Math.round(progress.budgetSeconds)} s`);
  }
  return parts.join(" · ");
}

function reportLink(api, evaluation, error) {
  const link = h("a", { href: "#", download: `${evaluation.modelName}-${evaluation.name}-report.html` },
    `Report of ${evaluation.name}`);
  link.addEventListener("click", async (event) => {
    if (link.dataset.ready) return; // the file is fetched: let the browser save it
    event.preventDefault();
    try {
      link.href = URL.createObjectURL(await api.evaluationReport(evaluation.modelName, evaluation.name));
      link.dataset.ready = "yes";
      link.click();
    } catch (problem) {
      showError(error, problem);
    }
  });
  return link;
}

export async function renderImageAnalysis(main, api, view) {
  const error = alertBox();
  main.append(h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Image Analysis"),
    h("p", { class: "muted" }, "The Image Analysis 4.0 face: its datasets, models and evaluations."))), error);
  let datasets, models;
  try {
    [datasets, models] = await Promise.all([api.datasets(), api.models()]);
  } catch (problem) {
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
  let evaluations = [];
  try {
    evaluations = (await Promise.all(models.map((m) => api.evaluations(m.name)))).flat();
  } catch (problem) {
    showError(error, problem);
  }
  if (!view.current()) return;

  main.append(
    h("section", { class: "card", "aria-label": "Datasets" }, h("h2", {}, "Datasets"),
      datasets.length === 0 ? h("p", { class: "empty" }, "No datasets.")
        : table("Datasets", ["Name", "Annotation kind", "Annotation files", "Updated"], datasets.map((d) =>
          h("tr", {}, h("td", {}, d.name), h("td", {}, d.annotationKind),
            h("td", {}, String(d.annotationFileUris.length)), h("td", {}, day(d.updatedDateTime)))))),
    h("section", { class: "card", "aria-label": "Models" }, h("h2", {}, "Models"),
      models.length === 0 ? h("p", { class: "empty" }, "No models.")
        : table("Models", ["Name", "Kind", "Training dataset", "Status", "Training progress"], models.map((m) =>
          h("tr", {}, h("td", {}, m.name), h("td", {}, m.trainingParameters.modelKind || "–"),
            h("td", {}, m.trainingParameters.trainingDatasetName),
            h("td", {}, h("span", { class: `status ${m.status.toLowerCase()}`, "data-testid": "model-status" },
              m.status), m.error ? h("span", { class: "hint" }, ` ${m.error.code}: ${m.error.message}`) : null),
            h("td", {}, progressText(m)))))),
    h("section", { class: "card", "aria-label": "Evaluations" }, h("h2", {}, "Evaluations"),
      evaluations.length === 0 ? h("p", { class: "empty" }, "No evaluations.")
        : table("Evaluations", ["Model", "Name", "Test dataset", "Status", "Report"], evaluations.map((e) =>
          h("tr", {}, h("td", {}, e.modelName), h("td", {}, e.name),
            h("td", {}, e.evaluationParameters.testDatasetName),
            h("td", {}, h("span", { class: `status ${e.status.toLowerCase()}` }, e.status)),
            h("td", {}, e.status === "succeeded" ? reportLink(api, e, error) : "–"))))));
}
