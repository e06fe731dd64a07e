// Performance: the project's iterations, newest first. One that trains shows its phase, trials, best score and
// budget used, polled until it ends; one that failed says why; a completed one shows precision, recall and AP
// (overall and per tag) and can be published, unpublished or deleted.
import { confirmDialog, formDialog } from "./dialog.js";
import { alertBox, field, h, percent, replace, showError } from "./dom.js";

const POLL_MS = 1000;
const DEFAULT_PREDICTION_RESOURCE = "tailor";

export async function renderPerformance(page, api, view) {
  const { project } = page;
  const error = alertBox();
  const list = h("div", { class: "iterations" });
  page.content.append(error, list);
  let iterations;
  try {
    iterations = await api.iterations(project.id);
  } catch (problem) {
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
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
    body.append(h("p", { class: "muted" },
      `Trained ${new Date(iteration.trainedAt || iteration.lastModified).toLocaleString()} · ` +
      `${iteration.trainingTimeInMinutes} min of compute`));
    showFigures(body, api, project, iteration);
    body.append(actions(api, view, project, iteration));
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

async function showFigures(body, api, project, iteration) {
  const figures = h("div", { class: "figures" }, h("p", { class: "muted" }, "Loading performance…"));
  body.append(figures);
  try {
    const performance = await api.performance(project.id, iteration.id, 0.5);
    replace(figures,
      h("dl", { class: "overall" },
        h("dt", {}, "Precision"), h("dd", {}, percent(performance.precision)),
        h("dt", {}, "Recall"), h("dd", {}, percent(performance.recall)),
        h("dt", {}, "AP"), h("dd", {}, percent(performance.averagePrecision))),
      h("p", { class: "muted" }, "At a probability threshold of 50%."),
      h("div", { class: "scroll" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Tag"), h("th", {}, "Precision"), h("th", {}, "Recall"),
          h("th", {}, "AP"))),
        h("tbody", {}, performance.perTagPerformance.map((t) => h("tr", {}, h("td", {}, t.name),
          h("td", {}, percent(t.precision)), h("td", {}, percent(t.recall)), h("td", {}, percent(t.averagePrecision))))))));
  } catch (problem) {
    replace(figures, h("p", { role: "alert", class: "alert" }, problem.message));
  }
}

function actions(api, view, project, iteration) {
  const again = () => view.go(location.hash);
  const buttons = h("div", { class: "actions" });
  if (iteration.status === "Completed" && !iteration.publishName) {
    buttons.append(h("button", { type: "button", class: "primary",
      onclick: () => publish(api, project, iteration).then((done) => done && again()) }, "Publish"));
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
