// "Train": Quick (the service's default budget) or Advanced (a budget in hours, the API's reservedBudgetInHours).
// A refusal (too few images, nothing changed, a budget too small) is shown in the API's words.
import { formDialog } from "./dialog.js";
import { field, h } from "./dom.js";

export async function openTrainDialog(api, view, project) {
  const quick = h("input", { type: "radio", name: "trainingType", value: "quick", checked: true });
  const advanced = h("input", { type: "radio", name: "trainingType", value: "advanced" });
  // No `min`: the browser would silently refuse a budget under it; the API says what is too small, in words.
  const hours = h("input", { type: "number", name: "budget", step: "any", value: "1" });
  const budget = field("Budget in hours", hours, "The compute time Tailor may spend searching for the best model.");
  budget.hidden = true;
  const types = h("fieldset", { class: "choices" }, h("legend", {}, "Training type"),
    h("label", { class: "choice" }, quick, "Quick"), h("label", { class: "choice" }, advanced, "Advanced"));
  types.addEventListener("change", () => { budget.hidden = !advanced.checked; });
  const iteration = await formDialog({
    title: "Choose training type",
    submitLabel: "Train",
    body: h("div", {}, types, budget),
    submit: () => {
      if (!advanced.checked) return api.train(project.id, null);
      const value = Number(hours.value);
      if (!(value > 0)) throw new Error("Give the budget in hours, above 0.");
      return api.train(project.id, value);
    },
  });
  if (iteration && view.current()) view.go(`#/projects/${project.id}/performance`);
}
