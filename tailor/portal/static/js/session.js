// The training key lives in sessionStorage: it survives a reload of the tab and goes when the tab closes, and it is
// never written to a cookie, so no request carries it unless the portal adds it.

const KEY_NAME = "tailor.trainingKey";

export function storedKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}
