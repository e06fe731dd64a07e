// The portal's only way to the data: Tailor's public REST API, as the Custom Vision SDK calls it (Training-Key on
// /customvision/v3.4-preview/training) and, for what the Custom Vision iteration does not carry (a training's
// trials and budget used), the Image Analysis face's model.

const TRAINING = "/customvision/v3.4-preview/training";
const IMAGE_ANALYSIS = "/computervision";
const IMAGE_ANALYSIS_VERSION = "2023-04-01-preview";

// An error the API answered, with its own words: the Custom Vision envelope is {code, message}, the Image Analysis
// one {error: {code, message}}.
export class ApiError extends Error {
  constructor(status, code, message, problems = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.problems = problems; // a COCO import's: [{code, path, message, file}]
  }
}

async function errorOf(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: say what HTTP said
  }
  const envelope = body && (body.error || body);
  const message = (envelope && envelope.message) || `${response.status} ${response.statusText}`;
  const problems = (envelope && Array.isArray(envelope.problems) && envelope.problems) || [];
  return new ApiError(response.status, (envelope && envelope.code) || String(response.status), message, problems);
}

function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    params.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export class TrainingApi {
  constructor(key) {
    this.key = key;
  }

  async call(method, path, { query, json, form, file } = {}) {
    const headers = { "Training-Key": this.key };
    let body;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (file !== undefined) {
      headers["Content-Type"] = "application/json"; // a JSON file sent as it is
      body = file;
    } else if (form !== undefined) {
      body = form; // the browser writes the multipart boundary
    }
    const response = await fetch(`${TRAINING}${path}${queryString(query)}`, { method, headers, body });
    if (!response.ok) throw await errorOf(response);
    if (response.status === 204) return null;
    return response.json();
  }

  domains() { return this.call("GET", "/domains"); }
  projects() { return this.call("GET", "/projects"); }
  project(id) { return this.call("GET", `/projects/${id}`); }
  createProject(fields) { return this.call("POST", "/projects", { query: fields, json: {} }); }
  deleteProject(id) { return this.call("DELETE", `/projects/${id}`); }

  tags(projectId) { return this.call("GET", `/projects/${projectId}/tags`); }
  createTag(projectId, name) { return this.call("POST", `/projects/${projectId}/tags`, { query: { name } }); }

  // One image per call, so that a progress bar can count them and one bad file does not sink the others.
  uploadImage(projectId, file, tagIds) {
    const form = new FormData();
    form.append("imageData", file, file.name);
    return this.call("POST", `/projects/${projectId}/images`, { query: { tagIds }, form });
  }
  images(projectId, { tagged, tagIds, take, skip }) {
    const which = tagged ? "tagged" : "untagged";
    return this.call("GET", `/projects/${projectId}/images/${which}`, { query: { tagIds, take, skip } });
  }
  imageCount(projectId, { tagged, tagIds }) {
    const which = tagged ? "tagged" : "untagged";
    return this.call("GET", `/projects/${projectId}/images/${which}/count`, { query: { tagIds } });
  }
  imagesById(projectId, ids) {
    return this.call("GET", `/projects/${projectId}/images/id`, { query: { imageIds: ids } });
  }
  // Tailor's own call (Custom Vision has none): a COCO file, uploaded (`file`) or named by its URI (`uri`), checked
  // and imported all or nothing; a refusal's ApiError lists every problem in `problems`.
  importCoco(projectId, { file, uri, validateOnly }) {
    const query = { validateOnly: validateOnly ? "true" : undefined, fileName: file ? file.name : undefined };
    const path = `/projects/${projectId}/images/coco`;
    if (file) return this.call("POST", path, { query, file });
    return this.call("POST", path, { query, json: { annotationFileUri: uri } });
  }
  tagImage(projectId, imageId, tagId) {
    return this.call("POST", `/projects/${projectId}/images/tags`, { json: { tags: [{ imageId, tagId }] } });
  }
  untagImage(projectId, imageId, tagId) {
    return this.call("DELETE", `/projects/${projectId}/images/tags`, { query: { imageIds: imageId, tagIds: tagId } });
  }
  // A detector's boxes: [{imageId, tagId, left, top, width, height}], normalized to the image. The API has no
  // update: a changed box is a new region and the old one deleted.
  createRegions(projectId, regions) {
    return this.call("POST", `/projects/${projectId}/images/regions`, { json: { regions } });
  }
  deleteRegions(projectId, regionIds) {
    return this.call("DELETE", `/projects/${projectId}/images/regions`, { query: { regionIds } });
  }

  train(projectId, budgetHours) {
    // Quick is the service's default budget; Advanced reserves the hours given.
    const query = budgetHours ? { trainingType: "Advanced", reservedBudgetInHours: budgetHours } : {};
    return this.call("POST", `/projects/${projectId}/train`, { query, json: {} });
  }
  iterations(projectId) { return this.call("GET", `/projects/${projectId}/iterations`); }
  /** The project's trained iterations, the newest first. */
  async trainedIterations(projectId) {
    return (await this.iterations(projectId)).filter((i) => i.status === "Completed").reverse();
  }
  iteration(projectId, id) { return this.call("GET", `/projects/${projectId}/iterations/${id}`); }
  deleteIteration(projectId, id) { return this.call("DELETE", `/projects/${projectId}/iterations/${id}`); }
  performance(projectId, id, threshold) {
    return this.call("GET", `/projects/${projectId}/iterations/${id}/performance`, { query: { threshold } });
  }
  publish(projectId, id, publishName, predictionId) {
    return this.call("POST", `/projects/${projectId}/iterations/${id}/publish`, { query: { publishName, predictionId } });
  }
  unpublish(projectId, id) { return this.call("DELETE", `/projects/${projectId}/iterations/${id}/publish`); }
  exportIteration(projectId, id, platform) {
    return this.call("POST", `/projects/${projectId}/iterations/${id}/export`, { query: { platform } });
  }

  quickTestFile(projectId, iterationId, file) {
    const form = new FormData();
    form.append("imageData", file, file.name);
    return this.call("POST", `/projects/${projectId}/quicktest/image`, { query: { iterationId }, form });
  }
  quickTestUrl(projectId, iterationId, url) {
    return this.call("POST", `/projects/${projectId}/quicktest/url`, { query: { iterationId }, json: { url } });
  }

  // The Smart Labeler: an iteration's predictions on untagged images (at most 64 image ids a call), each with the
  // API's predictionUncertainty; and the tags and boxes confirmed, many images at once.
  suggestTags(projectId, iterationId, imageIds) {
    return this.call("POST", `/projects/${projectId}/tagsandregions/suggestions`, { query: { iterationId, imageIds } });
  }
  suggestedImages(projectId, iterationId, query) {
    return this.call("POST", `/projects/${projectId}/images/suggested`, { query: { iterationId }, json: query });
  }
  tagImages(projectId, tags) { return this.call("POST", `/projects/${projectId}/images/tags`, { json: { tags } }); }

  // Stored predictions (quick tests and prediction calls Tailor kept).
  predictions(projectId, query) { return this.call("POST", `/projects/${projectId}/predictions/query`, { json: query }); }
  deletePredictions(projectId, ids) { return this.call("DELETE", `/projects/${projectId}/predictions`, { query: { ids } }); }
  imagesFromPredictions(projectId, images) {
    return this.call("POST", `/projects/${projectId}/images/predictions`, { json: { images } });
  }

  // The model behind an iteration (named cv-<iteration id>) on the Image Analysis face: its trainingProgress has the
  // phase, trials done, best validation score and budget used that the Custom Vision iteration does not carry.
  trainingProgress(iterationId) { return this.model(iterationId, ""); }

  // The iteration's model's predictions on its held-out images (Tailor's extension beside its report), from which
  // the Performance tab computes its figures at any threshold (metrics.js).
  heldOutPredictions(iterationId) { return this.model(iterationId, "/heldout-predictions"); }
  reportJson(iterationId) { return this.model(iterationId, "/report.json"); }
  async reportBlob(iterationId, file) {
    return (await this.modelResponse(iterationId, file ? `/report/${encodeURIComponent(file)}` : "/report")).blob();
  }

  async model(iterationId, suffix) {
    return (await this.modelResponse(iterationId, suffix)).json();
  }

  async modelResponse(iterationId, suffix) {
    const query = queryString({ "api-version": IMAGE_ANALYSIS_VERSION });
    const url = `${IMAGE_ANALYSIS}/models/cv-${iterationId}${suffix}${query}`;
    const response = await fetch(url, { headers: { "Ocp-Apim-Subscription-Key": this.key } });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  // Image files need the key, which an <img src> cannot send: fetched here, shown as a blob: URL.
  async imageFile(uri) {
    const response = await fetch(uri, { headers: { "Training-Key": this.key } });
    if (!response.ok) throw await errorOf(response);
    return URL.createObjectURL(await response.blob());
  }
}

// A prediction key opens only the Prediction API (Prediction-Key on /customvision/v3.1/prediction): a published
// iteration, found by its project id and publish name (the API has no listing), classifies or detects an image.
const PREDICTION = "/customvision/v3.1/prediction";

export class PredictionApi {
  constructor(key) {
    this.key = key;
  }

  async call(path, { json, form }) {
    const headers = { "Prediction-Key": this.key };
    let body = form;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    const response = await fetch(`${PREDICTION}${path}`, { method: "POST", headers, body });
    if (!response.ok) throw await errorOf(response);
    return response.json();
  }

  // verb: "classify" or "detect", as the project's type wants.
  predictFile(projectId, publishedName, verb, file) {
    const form = new FormData();
    form.append("imageData", file, file.name);
    return this.call(`/${encodeURIComponent(projectId)}/${verb}/iterations/${encodeURIComponent(publishedName)}/image`,
      { form });
  }
  predictUrl(projectId, publishedName, verb, url) {
    return this.call(`/${encodeURIComponent(projectId)}/${verb}/iterations/${encodeURIComponent(publishedName)}/url`,
      { json: { url } });
  }
}

// The Image Analysis face, read with the training key (Ocp-Apim-Subscription-Key): datasets, models with their
// training progress, evaluations, and the reports of evaluations (an HTML page, fetched with the key and handed to
// the browser as a file, since a link cannot carry the key).
export class ImageAnalysisApi {
  constructor(key) {
    this.key = key;
  }

  async get(url) {
    const response = await fetch(url, { headers: { "Ocp-Apim-Subscription-Key": this.key } });
    if (!response.ok) throw await errorOf(response);
    return response;
  }

  // Every page of a list, following nextLink (at most `pages` pages of 30).
  async list(path, pages = 20) {
    let url = `${IMAGE_ANALYSIS}${path}${queryString({ "api-version": IMAGE_ANALYSIS_VERSION, top: 30 })}`;
    const items = [];
    for (let page = 0; url && page < pages; page += 1) {
      const body = await (await this.get(url)).json();
      items.push(...body.value);
      url = body.nextLink;
    }
    return items;
  }

  datasets() { return this.list("/datasets"); }
  models() { return this.list("/models"); }
  evaluations(model) { return this.list(`/models/${encodeURIComponent(model)}/evaluations`); }
  async evaluationReport(model, name) {
    const path = `/models/${encodeURIComponent(model)}/evaluations/${encodeURIComponent(name)}/report`;
    const version = queryString({ "api-version": IMAGE_ANALYSIS_VERSION });
    const response = await this.get(`${IMAGE_ANALYSIS}${path}${version}`);
    return response.blob();
  }
}
