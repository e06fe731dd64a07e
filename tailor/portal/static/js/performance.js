// Performance: the project's iterations, newest first. One that trains shows its phase, trials, best score and
// budget used, polled until it ends; one that failed says why; a completed one shows precision, recall and AP
// (overall and per tag) at the thresholds of its sliders, its report, and can be published, unpublished, exported
// to ONNX (a zip of model.onnx and labels.txt, downloaded from the link export_iteration answers) or deleted.
import { confirmDialog, formDialog } from "./dialog.js";
import { alertBox, answerOrShow, field, h, percent, replace, showError } from "./dom.js";
import { performanceOf } from "./metrics.js";

const POLL_MS = 1000;
const DEFAULT_PREDICTION_RESOURCE = "tailor";

export async function renderPerformance(page, api, view) {
  const { project } = page;
  const error = alertBox();
  const list = h("div", { class: "iterations" });
  page.content.append(error, list);
  const iterations = await answerOrShow(error, api.iterations(project.id));
  if (!iterations || !view.current()) return;
  if (iterations.length === 0) {
    list.append(h("p", { class: "empty" }, "No iterations yet: add tagged images, then Train."));
  }
  for (const iteration of [...iterations].reverse()) {
    const card = h("section", { class: "card iteration", "aria-label": iteration.name });
    list.append(card);
    showIteration(card, api, view, project, iteration);
  }
}

function showIteration(card, api, view, project, iteration) {
  const published = iteration.publishName ? h("span", { class: "badge" }, `Published as ${iteration.publishName}`) : null;
  const head = h("div", { class: "iteration-head" }, h("h2", {}, iteration.name),
    h("span", { class: `status ${iteration.status.toLowerCase()}`, "data-testid": "iteration-status" },
      iteration.status), published);
  const body = h("div", {});
  replace(card, head, body);
  if (iteration.status === "Training") {
    watchTraining(body, api, view, project, iteration);
  } else if (iteration.status === "Failed") {
    body.append(h("p", { role: "alert", class: "alert" },
      `Training failed: ${iteration.trainingErrorDetails || "no reason was given"}`));
    body.append(actions(api, view, project, iteration));
  } else {
    const search = h("span", { "data-testid": "search-summary" });
    body.append(h("p", { class: "muted" },
      `Trained ${new Date(iteration.trainedAt || iteration.lastModified).toLocaleString()} · ` +
      `${iteration.trainingTimeInMinutes} min of compute`, search));
    showSearch(search, api, iteration);
    showFigures(body, api, project, iteration);
    body.append(actions(api, view, project, iteration));
  }
}

// How much the search tried, from the iteration's model: a small training can end between two polls of the
// page, so this is where its trials are read afterwards. Left out when the model cannot be read.
async function showSearch(span, api, iteration) {
  try {
    const progress = (await api.trainingProgress(iteration.id)).trainingProgress || {};
    if (progress.trialsDone === undefined) return;
    const best = progress.bestValidationScore == null
      ? "" : `, best validation score ${percent(progress.bestValidationScore)}`;
    span.textContent = ` · ${progress.trialsDone} ${progress.trialsDone === 1 ? "trial" : "trials"}${best}`;
  } catch {
    // the figures below say what is wrong with the API, if anything
  }
}

// Polls the iteration (its status) and its model (the search's progress) until the training ends, then shows the
// iteration again as it ended. Stops as soon as the person leaves the page.
function watchTraining(body, api, view, project, iteration) {
  const phase = h("dd", {}, "queued");
  const trials = h("dd", {}, "0");
  const best = h("dd", {}, "–");
  const used = h("dd", {}, "–");
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Budget used" });
  const error = alertBox();
  body.append(h("dl", { class: "progress-figures" },
    h("dt", {}, "Phase"), phase, h("dt", {}, "Trials"), trials,
    h("dt", {}, "Best validation score"), best, h("dt", {}, "Budget used"), used), bar, error);
  const poll = async () => {
    if (!view.current()) return;
    try {
      const [latest, model] = await Promise.all([
        api.iteration(project.id, iteration.id), api.trainingProgress(iteration.id),
      ]);
      if (!view.current()) return;
      const progress = model.trainingProgress || {};
      phase.textContent = progress.phase || model.status;
      trials.textContent = String(progress.trialsDone ?? 0);
      best.textContent = progress.bestValidationScore == null ? "–" : percent(progress.bestValidationScore);
      if (progress.budgetSeconds) {
        used.textContent = `${Math.round(progress.budgetUsedSeconds)} s of ${Math.round(progress.budgetSeconds)} s`;
        bar.max = progress.budgetSeconds;
        bar.value = progress.budgetUsedSeconds;
      }
      if (latest.status !== "Training") {
        showIteration(body.parentElement, api, view, project, latest);
        return;
      }
    } catch (problem) {
      showError(error, problem);
    }
    setTimeout(poll, POLL_MS);
  };
  poll();
}

// The figures at the sliders' thresholds, computed here from the iteration's held-out predictions, loaded once
// (metrics.js; the same definitions as the API's get_iteration_performance), so that moving a slider calls nothing.
async function showFigures(body, api, project, iteration) {
  const figures = h("div", { class: "figures" }, h("p", { class: "muted" }, "Loading performance…"));
  body.append(figures);
  let heldOut;
  try {
    heldOut = await api.heldOutPredictions(iteration.id);
  } catch (problem) {
    replace(figures, h("p", { role: "alert", class: "alert" }, problem.message));
    return;
  }
  const detector = heldOut.kind === "detector";
  const threshold = h("input", { type: "range", name: "threshold", min: 0, max: 100, value: 50 });
  const thresholdText = h("output", {}, "50%");
  const overlap = detector ? h("input", { type: "range", name: "overlap", min: 1, max: 100, value: 30 }) : null;
  const overlapText = detector ? h("output", {}, "30%") : null;
  const overall = h("dl", { class: "overall" });
  const rows = h("tbody", {});
  const show = () => {
    thresholdText.textContent = `${threshold.value}%`;
    if (detector) overlapText.textContent = `${overlap.value}%`;
    const performance = performanceOf(heldOut, Number(threshold.value) / 100,
      detector ? Number(overlap.value) / 100 : undefined);
    replace(overall,
      h("dt", {}, "Precision"), h("dd", {}, percent(performance.precision)),
      h("dt", {}, "Recall"), h("dd", {}, percent(performance.recall)),
      h("dt", {}, "AP"), h("dd", {}, percent(performance.averagePrecision)));
    replace(rows, performance.perTag.map((t) => h("tr", {}, h("td", {}, t.name),
      h("td", {}, percent(t.precision)), h("td", {}, percent(t.recall)), h("td", {}, percent(t.averagePrecision)))));
  };
  threshold.addEventListener("input", show);
  if (detector) overlap.addEventListener("input", show);
  replace(figures,
    h("div", { class: "threshold" }, field("Probability threshold", threshold), thresholdText),
    detector ? h("div", { class: "threshold" }, field("Overlap threshold", overlap), overlapText) : null,
    overall,
    h("p", { class: "muted" }, `On ${heldOut.imageNames.length} images held out of training.`),
    h("div", { class: "scroll" }, h("table", { "aria-label": "Performance per tag" },
      h("thead", {}, h("tr", {}, h("th", {}, "Tag"), h("th", {}, "Precision"), h("th", {}, "Recall"),
        h("th", {}, "AP"))),
      rows)),
    reportView(api, iteration));
  show();
}

// "View report": the iteration's report from the reports module (confusion matrix or AP table, curves, worst
// images) shown in the page, its plots and thumbnails fetched with the key and shown as blob: URLs; "Download
// report" saves its one-page HTML.
function reportView(api, iteration) {
  const section = h("div", { class: "report", hidden: true });
  let loaded = false;
  const button = h("button", { type: "button", "aria-expanded": "false", onclick: async () => {
    const open = section.hidden;
    section.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (!open || loaded) return;
    loaded = true;
    replace(section, h("p", { class: "muted" }, "Loading the report…"));
    try {
      replace(section, ...await reportContents(api, iteration));
    } catch (problem) {
      loaded = false;
      replace(section, h("p", { role: "alert", class: "alert" }, problem.message));
    }
  } }, "View report");
  return h("div", {}, button, section);
}

async function reportContents(api, iteration) {
  const report = await api.reportJson(iteration.id);
  const image = async (file, alt) => h("img", { src: URL.createObjectURL(await api.reportBlob(iteration.id, file)),
    alt });
  const plots = await Promise.all(report.plots.map(async (plot) =>
    h("figure", {}, await image(plot.file, plot.title), h("figcaption", {}, plot.title))));
  const worstRows = (report.worst || report.mostConfidentlyWrong || []).filter((row) => row.thumbnail);
  const worst = await Promise.all(worstRows.map(async (row, k) =>
    h("figure", {}, await image(row.thumbnail, `Worst image ${k + 1}`),
      h("figcaption", {}, row.misjudgedLabel ? `${row.misjudgedLabel} ${percent(row.confidence)}` : `#${k + 1}`))));
  const page = URL.createObjectURL(new Blob([await api.reportBlob(iteration.id, "")], { type: "text/html" }));
  return [
    h("h3", {}, report.title),
    h("a", { href: page, download: `${iteration.name.replace(/\s+/g, "-")}-report.html` }, "Download report"),
    h("div", { class: "plots" }, plots),
    worst.length ? h("h3", {}, "Worst images") : null,
    worst.length ? h("div", { class: "worst" }, worst) : null,
  ];
}

function actions(api, view, project, iteration) {
  const again = () => view.go(location.hash);
  const buttons = h("div", { class: "actions" });
  if (iteration.status === "Completed" && !iteration.publishName) {
    buttons.append(h("button", { type: "button", class: "primary",
      onclick: () => publish(api, project, iteration).then((done) => done && again()) }, "Publish"));
  }
  if (iteration.status === "Completed") {
    const problem = alertBox();
    const button = h("button", { type: "button", onclick: () => exportOnnx(api, project, iteration, button, problem) },
      "Export ONNX");
    buttons.append(button, problem);
  }
  if (iteration.publishName) {
    buttons.append(h("button", { type: "button",
      onclick: () => confirmDialog({
        title: `Unpublish ${iteration.name}?`,
        message: `Calls to the prediction API for "${iteration.publishName}" will stop answering.`,
        confirmLabel: "Unpublish", action: () => api.unpublish(project.id, iteration.id),
      }).then((done) => done && again()) }, "Unpublish"));
  }
  buttons.append(h("button", { type: "button", class: "danger", "aria-label": `Delete ${iteration.name}`,
    onclick: () => confirmDialog({
      title: `Delete ${iteration.name}?`, message: "Its model is deleted with it.",
      confirmLabel: "Delete", action: () => api.deleteIteration(project.id, iteration.id),
    }).then((done) => done && again()) }, "Delete"));
  return buttons;
}

// The export is made while the call waits (seconds, the first time); its link needs no key, so the browser saves it.
async function exportOnnx(api, project, iteration, button, problem) {
  button.disabled = true;
  button.textContent = "Exporting...";
  try {
    const made = await api.exportIteration(project.id, iteration.id, "ONNX");
    const link = h("a", { href: made.downloadUri, download: `${iteration.name}.ONNX.zip`,
      hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    problem.hidden = true;
  } catch (error) {
    showError(problem, error);
  } finally {
    button.disabled = false;
    button.textContent = "Export ONNX";
  }
}

function publish(api, project, iteration) {
  const name = h("input", { name: "publishName", required: true, maxlength: 255,
    value: iteration.name.replace(/\s+/g, "") });
  const resource = h("input", { name: "predictionResource", required: true, value: DEFAULT_PREDICTION_RESOURCE });
  return formDialog({
    title: `Publish ${iteration.name}`,
    submitLabel: "Publish",
    body: h("div", {}, field("Publish name", name, "The name prediction calls use in their URL."),
      field("Prediction resource", resource, "Tailor answers predictions itself; this id is kept with the iteration.")),
    submit: () => api.publish(project.id, iteration.id, name.value.trim(), resource.value.trim()),
  });
}
