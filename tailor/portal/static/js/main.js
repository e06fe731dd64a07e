// The portal's entry: a hash router over a few pages. Each navigation renders one page into <main>; a page that
// polls (a training) checks `view.current()` so that it stops once the person has moved on.
import { ImageAnalysisApi, PredictionApi, TrainingApi } from "./api.js";
import { h, replace } from "./dom.js";
import { renderImageAnalysis } from "./image-analysis.js";
import { renderImage } from "./image-view.js";
import { renderImages } from "./images.js";
import { renderPerformance } from "./performance.js";
import { renderPredictions } from "./predictions.js";
import { renderPredictionQuickTest } from "./predict.js";
import { renderProject } from "./project.js";
import { renderProjects } from "./projects.js";
import { renderQuickTest } from "./quicktest.js";
import { forgetKey, storedKey, storedPredictionKey } from "./session.js";
import { renderSignIn } from "./signin.js";
import { renderSuggestions } from "./suggestions.js";

const main = document.getElementById("main");
const account = document.getElementById("account");
const brand = document.querySelector("header .brand");
let generation = 0;

// "#/projects/ID/images?view=untagged" -> {parts: ["projects", "ID", "images"], query: URLSearchParams}
function parseHash() {
  const [path, search] = location.hash.replace(/^#\/?/, "").split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search || "") };
}

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function showAccount(signedIn, training) {
  replace(account,
    training ? h("a", { href: "#/imageanalysis", class: "nav-link" }, "Image Analysis") : null,
    signedIn
      ? h("button", { type: "button", class: "link", onclick: () => { forgetKey(); go("#/"); } }, "Sign out")
      : null);
}

async function render() {
  const mine = ++generation;
  const view = { current: () => mine === generation, go };
  const key = storedKey();
  const predictionKey = key ? null : storedPredictionKey();
  showAccount(Boolean(key || predictionKey), Boolean(key));
  brand.setAttribute("href", predictionKey ? "#/quicktest" : "#/projects");
  main.replaceChildren();
  window.scrollTo(0, 0);
  if (predictionKey) { // a prediction key opens Quick Test, and nothing else
    if (location.hash !== "#/quicktest") go("#/quicktest");
    else renderPredictionQuickTest(main, new PredictionApi(predictionKey));
    return;
  }
  if (!key) {
    renderSignIn(main, () => go("#/projects"), () => go("#/quicktest"));
    return;
  }
  const api = new TrainingApi(key);
  const { parts, query } = parseHash();
  if (parts[0] === "imageanalysis") {
    await renderImageAnalysis(main, new ImageAnalysisApi(key), view);
    return;
  }
  if (parts[0] !== "projects") {
    go("#/projects");
    return;
  }
  if (parts.length === 1) {
    await renderProjects(main, api, view);
    return;
  }
  const [, projectId, tab = "images", imageId] = parts;
  const page = await renderProject(main, api, view, projectId, tab);
  if (!page) return; // the project could not be read; renderProject said why
  if (tab === "images" && imageId) await renderImage(page, api, view, imageId);
  else if (tab === "images" && query.get("suggested")) await renderSuggestions(page, api, view, query);
  else if (tab === "images") await renderImages(page, api, view, query);
  else if (tab === "performance") await renderPerformance(page, api, view);
  else if (tab === "quicktest") await renderQuickTest(page, api, view);
  else if (tab === "predictions") await renderPredictions(page, api, view);
}

window.addEventListener("hashchange", render);
render();
