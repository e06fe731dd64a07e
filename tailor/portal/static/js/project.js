// A project's frame: its name, the tabs (Training Images, Performance, Quick Test) and the Train button. Each tab
// renders into the content element this returns.
import { alertBox, h, showError } from "./dom.js";
import { openTrainDialog } from "./training.js";

const TABS = [["images", "Training Images"], ["performance", "Performance"], ["quicktest", "Quick Test"],
  ["predictions", "Predictions"]];

export async function renderProject(main, api, view, projectId, tab) {
  const error = alertBox();
  main.append(error);
  let project, domains;
  try {
    [project, domains] = await Promise.all([api.project(projectId), api.domains()]);
  } catch (problem) {
    showError(error, problem);
    main.append(h("a", { href: "#/projects" }, "Projects"));
    return null;
  }
  if (!view.current()) return null;
  const domain = domains.find((d) => d.id === project.settings.domainId);
  const detection = domain ? domain.type === "ObjectDetection" : false;
  const kind = detection ? "Object detection" : `Classification (${project.settings.classificationType})`;
  const content = h("div", { class: "tab-content" });
  const nav = h("nav", { class: "tabs", "aria-label": "Project" }, ...TABS.map(([name, label]) =>
    h("a", { href: `#/projects/${project.id}/${name}`, "aria-current": name === tab ? "page" : null }, label)));
  main.append(
    h("div", { class: "page-head" },
      h("div", {}, h("a", { href: "#/projects", class: "muted" }, "Projects"),
        h("h1", {}, project.name), h("p", { class: "muted" }, `${kind} · ${domain ? domain.name : "?"}`)),
      h("button", { type: "button", class: "primary", onclick: () => openTrainDialog(api, view, project) }, "Train")),
    nav, content);
  return { content, project, detection };
}
