// The projects: their list, "New project" (the Custom Vision dialog's fields, domains from get_domains) and delete
// with a confirmation.
import { confirmDialog, formDialog } from "./dialog.js";
import { alertBox, field, h, showError } from "./dom.js";

const PROJECT_TYPES = { Classification: "Classification", ObjectDetection: "Object detection" };

export async function renderProjects(main, api, view) {
  const error = alertBox();
  const list = h("ul", { class: "projects", "aria-label": "Projects" });
  main.append(
    h("div", { class: "page-head" }, h("h1", {}, "Projects"),
      h("button", { type: "button", class: "primary", onclick: () => newProject(api, view) }, "New project")),
    error, list);
  let projects;
  try {
    projects = await api.projects();
  } catch (problem) {
    showError(error, problem);
    return;
  }
  if (!view.current()) return;
  if (projects.length === 0) list.append(h("li", { class: "empty" }, "No projects yet: start with New project."));
  for (const project of projects) {
    list.append(h("li", { class: "card project" },
      h("a", { href: `#/projects/${project.id}/images` }, project.name),
      h("p", { class: "muted" }, project.description || ""),
      h("button", {
        type: "button", class: "danger", "aria-label": `Delete ${project.name}`,
        onclick: () => deleteProject(api, view, project),
      }, "Delete")));
  }
}

async function newProject(api, view) {
  let domains;
  try {
    domains = await api.domains();
  } catch (problem) {
    showError(document.querySelector("main .alert"), problem);
    return;
  }
  const name = h("input", { name: "name", required: true, maxlength: 255 });
  const description = h("textarea", { name: "description", rows: 2 });
  const domain = h("select", { name: "domain" });
  const classificationTypes = h("fieldset", { class: "choices" }, h("legend", {}, "Classification types"),
    radio("classificationType", "Multiclass", "Multiclass (one tag per image)", true),
    radio("classificationType", "Multilabel", "Multilabel (several tags per image)"));
  const typeChoice = h("fieldset", { class: "choices" }, h("legend", {}, "Project type"),
    ...Object.entries(PROJECT_TYPES).map(([type, label], k) => radio("projectType", type, label, k === 0)));
  const showDomains = () => {
    const type = typeChoice.querySelector("input:checked").value;
    domain.replaceChildren(...domains.filter((d) => d.type === type)
      .map((d) => h("option", { value: d.id }, d.name)));
    classificationTypes.hidden = type !== "Classification";
  };
  typeChoice.addEventListener("change", showDomains);
  showDomains();
  const created = await formDialog({
    title: "Create new project",
    submitLabel: "Create project",
    body: h("div", {}, field("Name", name), field("Description", description), typeChoice, classificationTypes,
      field("Domain", domain)),
    submit: () => {
      const classification = typeChoice.querySelector("input:checked").value === "Classification";
      return api.createProject({
        name: name.value, description: description.value, domainId: domain.value,
        classificationType: classification ? classificationTypes.querySelector("input:checked").value : undefined,
      });
    },
  });
  if (created && view.current()) view.go(`#/projects/${created.id}/images`);
}

function radio(name, value, label, checked = false) {
  return h("label", { class: "choice" }, h("input", { type: "radio", name, value, checked }), label);
}

async function deleteProject(api, view, project) {
  const deleted = await confirmDialog({
    title: `Delete ${project.name}?`,
    message: "Its images, tags and iterations are deleted with it; published iterations stop answering.",
    confirmLabel: "Delete",
    action: () => api.deleteProject(project.id),
  });
  if (deleted && view.current()) view.go("#/projects");
}
