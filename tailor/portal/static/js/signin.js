// Sign-in: the key is tried on get_projects before it is kept, so a wrong key is refused here, in the API's words.
import { TrainingApi } from "./api.js";
import { alertBox, clearError, field, h, showError } from "./dom.js";
import { storeKey } from "./session.js";

export function renderSignIn(main, signedIn) {
  const key = h("input", { type: "password", name: "key", autocomplete: "off", required: true });
  const error = alertBox();
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h("form", { class: "card narrow" },
    h("h1", {}, "Sign in to Tailor"),
    h("p", {}, "Use the training key the service was started with (.tailor/training.key, or TAILOR_TRAINING_KEY)."),
    field("Training key", key), error, h("div", { class: "actions" }, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error);
    button.disabled = true;
    try {
      await new TrainingApi(key.value.trim()).projects();
      storeKey(key.value.trim());
      signedIn();
    } catch (problem) {
      showError(error, problem);
      button.disabled = false;
    }
  });
  main.append(form);
  key.focus();
}
