// Sign-in: a training key is tried on get_projects before it is kept, so a wrong key is refused here, in the API's
// words. A prediction key ("Use a prediction key instead") opens only Quick Test: the Prediction API has no
// call that lists anything, so it is kept as it is and checked by the first test, which says so if it is wrong.
import { TrainingApi } from "./api.js";
import { alertBox, clearError, h, replace, showError } from "./dom.js";
import { storeKey, storePredictionKey } from "./session.js";

const MODES = {
  training: {
    label: "Training key",
    hint: "Use the training key the service was started with (.tailor/training.key, or TAILOR_TRAINING_KEY).",
    other: "Use a prediction key instead",
  },
  prediction: {
    label: "Prediction key",
    hint: "A prediction key (TAILOR_PREDICTION_KEY) opens only Quick Test of a published iteration.",
    other: "Use a training key instead",
  },
};

export function renderSignIn(main, signedIn, signedInForPrediction) {
  let mode = "training";
  const key = h("input", { type: "password", name: "key", autocomplete: "off", required: true });
  const label = h("label", { class: "field-label", for: "sign-in-key" }, MODES.training.label);
  key.id = "sign-in-key";
  const hint = h("p", {}, MODES.training.hint);
  const error = alertBox();
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const switcher = h("button", { type: "button", class: "link" }, MODES.training.other);
  switcher.addEventListener("click", () => {
    mode = mode === "training" ? "prediction" : "training";
    label.textContent = MODES[mode].label;
    replace(hint, MODES[mode].hint);
    switcher.textContent = MODES[mode].other;
    clearError(error);
    key.focus();
  });
  const form = h("form", { class: "card narrow" },
    h("h1", {}, "Sign in to Tailor"), hint,
    h("div", { class: "field" }, label, key), error, h("div", { class: "actions" }, button), switcher);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(error);
    const value = key.value.trim();
    if (mode === "prediction") {
      storePredictionKey(value);
      signedInForPrediction();
      return;
    }
    button.disabled = true;
    try {
      await new TrainingApi(value).projects();
      storeKey(value);
      signedIn();
    } catch (problem) {
      showError(error, problem);
      button.disabled = false;
    }
  });
  main.append(form);
  key.focus();
}
