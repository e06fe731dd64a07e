// The keys live in sessionStorage: they survive a reload of the tab and go when the tab closes, and they are never
// written to a cookie, so no request carries them unless the portal adds them. A training key opens everything; a
// prediction key, kept under its own name, only Quick Test of a published iteration.

const KEY_NAME = "tailor.trainingKey";
const PREDICTION_KEY_NAME = "tailor.predictionKey";

export function storedKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function storeKey(key) {
  sessionStorage.removeItem(PREDICTION_KEY_NAME);
  sessionStorage.setItem(KEY_NAME, key);
}

export function storedPredictionKey() {
  return sessionStorage.getItem(PREDICTION_KEY_NAME);
}

export function storePredictionKey(key) {
  sessionStorage.removeItem(KEY_NAME);
  sessionStorage.setItem(PREDICTION_KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
  sessionStorage.removeItem(PREDICTION_KEY_NAME);
}
