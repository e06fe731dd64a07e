// Modal dialogs on <dialog>: focus is trapped, Escape closes, and each one is a role="dialog" with its title as
// its accessible name.
import { alertBox, clearError, h, showError } from "./dom.js";

let counter = 0;

// A dialog with a form: `submit(form)` runs on the primary button; it may throw an ApiError, which is shown in the
// dialog and keeps it open. Resolves with submit's result, or null when cancelled.
export function formDialog({ title, body, submitLabel, submit, danger = false }) {
  return new Promise((resolve) => {
    const titleId = `dialog-title-${++counter}`;
    const error = alertBox();
    const submitButton = h("button", { type: "submit", class: danger ? "danger" : "primary" }, submitLabel);
    const cancelButton = h("button", { type: "button", onclick: () => close(null) }, "Cancel");
    const form = h("form", { method: "dialog" }, body, error, h("div", { class: "actions" }, cancelButton, submitButton));
    const dialog = h("dialog", { "aria-labelledby": titleId }, h("h2", { id: titleId }, title), form);
    let result = null;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearError(error);
      submitButton.disabled = true;
      try {
        close((await submit(form)) ?? true);
      } catch (problem) {
        showError(error, problem);
      } finally {
        submitButton.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// "Are you sure?" with the action's own name on the button: resolves with the action's result, or null.
export function confirmDialog({ title, message, confirmLabel, action }) {
  return formDialog({ title, body: h("p", {}, message), submitLabel: confirmLabel, submit: action, danger: true });
}
