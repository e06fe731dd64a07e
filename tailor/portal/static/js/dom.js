// Building the page from elements, never from HTML strings: names of projects and tags are the user's text and
// must never become markup.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "style") {
      Object.assign(element.style, value); // CSSOM, which the page's Content-Security-Policy allows
    } else if (name === "class") {
      element.className = value;
    } else if (name in element && typeof value !== "string") {
      element[name] = value; // properties such as value, checked, disabled
    } else {
      element.setAttribute(name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

// A message in an alert region: screen readers announce it, and tests find it by role.
export function alertBox() {
  return h("p", { role: "alert", class: "alert", hidden: true });
}

export function showError(box, error) {
  box.textContent = error instanceof Error ? error.message : String(error);
  box.hidden = false;
}

export function clearError(box) {
  box.textContent = "";
  box.hidden = true;
}

// What an API call answers, or undefined once its failure is shown in `box`: a page then stops where it is.
export async function answerOrShow(box, call) {
  try {
    return await call;
  } catch (problem) {
    showError(box, problem);
    return undefined;
  }
}

// A labelled field: the label names the control by its id (a label wrapping a <select> would take its options'
// text into the name), and the hint describes it.
let fieldCounter = 0;

export function field(label, control, hint) {
  const id = control.id || `field-${++fieldCounter}`;
  control.id = id;
  const hintElement = hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { class: "field-label", for: id }, label), control, hintElement);
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)}%`;
}
