// An iteration's precision, recall and AP per tag and overall, computed in the browser from its held-out predictions
// (GET /computervision/models/cv-<iteration id>/heldout-predictions, loaded once), so that the thresholds' sliders
// recompute them without a call. The definitions are tailor/customvision/performance.py's, which answers the Custom
// Vision API's get_iteration_performance: the two must agree for any threshold.
//
// A classifier: a tag is predicted where its probability is at least the threshold; precision and recall per tag,
// overall from the counts summed over tags; AP per tag is scikit-learn's average_precision_score (over every
// threshold); overall AP the mean of the tags' that have a true image.
// A detector: boxes are matched to true boxes of their tag as pycocotools' COCOeval matches them (at IoU the overlap
// threshold, the 100 most probable per image and tag, greedily, the most probable first); a box is predicted where its
// probability is at least the threshold and right where it matched; AP per tag is COCOeval's (101 recall points) at
// the overlap threshold, for the tags with a true box; overall AP the mean of those.

const MAX_DETECTIONS = 100;
const AREA_RANGE = [0, 1e10]; // COCOeval's "all": 0 ** 2 to 1e5 ** 2
const RECALL_POINTS = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * 0.01)); // np.linspace(0, 1, 101)
const EPSILON = Number.EPSILON; // np.spacing(1)

export function performanceOf(heldOut, threshold, overlap) {
  return heldOut.kind === "detector"
    ? detectionPerformance(heldOut, threshold, overlap)
    : classificationPerformance(heldOut, threshold);
}

function share(part, whole) {
  return whole ? part / whole : 0;
}

function mean(values) {
  return values.length ? values.reduce((sum, v) => sum + v, 0) / values.length : null;
}

function figures(names, right, predicted, truth, ap) {
  const perTag = names.map((name, c) => ({
    name, precision: share(right[c], predicted[c]), recall: share(right[c], truth[c]), averagePrecision: ap[c],
  }));
  const sum = (counts) => counts.reduce((total, n) => total + n, 0);
  return {
    perTag,
    precision: share(sum(right), sum(predicted)),
    recall: share(sum(right), sum(truth)),
    averagePrecision: mean(ap.filter((v) => v !== null)),
  };
}

// ---- classifiers

export function classificationPerformance(heldOut, threshold) {
  const names = heldOut.classNames;
  const truth = heldOut.scores.map((row, i) => names.map((_, c) =>
    heldOut.multilabel ? heldOut.targets[i][c] === 1 : heldOut.targets[i] === c));
  const right = names.map(() => 0);
  const predicted = names.map(() => 0);
  const trueCounts = names.map(() => 0);
  heldOut.scores.forEach((row, i) => row.forEach((score, c) => {
    const decided = score >= threshold;
    if (decided) predicted[c] += 1;
    if (truth[i][c]) trueCounts[c] += 1;
    if (decided && truth[i][c]) right[c] += 1;
  }));
  const ap = names.map((_, c) => (trueCounts[c]
    ? averagePrecisionScore(truth.map((t) => t[c]), heldOut.scores.map((row) => row[c])) : null));
  return figures(names, right, predicted, trueCounts, ap);
}

// scikit-learn's average_precision_score: the sum over the distinct scores, highest first, of the precision at
// that score times the recall it adds.
function averagePrecisionScore(truth, scores) {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const positives = truth.filter(Boolean).length;
  let tp = 0;
  let seen = 0;
  let lastRecall = 0;
  let ap = 0;
  for (let k = 0; k < order.length; k += 1) {
    tp += truth[order[k]] ? 1 : 0;
    seen += 1;
    if (k + 1 < order.length && scores[order[k + 1]] === scores[order[k]]) continue; // ties: one point
    const recall = tp / positives;
    ap += (recall - lastRecall) * (tp / seen);
    lastRecall = recall;
  }
  return ap;
}

// ---- detectors

export function detectionPerformance(heldOut, threshold, overlap) {
  const names = heldOut.classNames;
  const classes = names.length;
  const right = names.map(() => 0);
  const predicted = names.map(() => 0);
  const trueCounts = names.map(() => 0);
  const perClass = names.map(() => []); // per tag, in image order: each image's evaluated boxes, matched or not
  const ignoredTruths = names.map(() => 0);
  const evaluatedImages = names.map(() => 0);
  for (let image = 0; image < heldOut.imageNames.length; image += 1) {
    for (const label of heldOut.trueLabels[image]) trueCounts[label] += 1;
    for (let c = 0; c < classes; c += 1) {
      const result = evaluateImage(heldOut, image, c, overlap);
      if (!result) continue;
      evaluatedImages[c] += 1;
      ignoredTruths[c] += result.ignoredTruths;
      for (const box of result.boxes) {
        perClass[c].push(box);
        if (box.score >= threshold) {
          predicted[c] += 1;
          if (box.matched) right[c] += 1;
        }
      }
    }
  }
  const ap = names.map((_, c) => {
    const counted = trueCountsOf(heldOut, c) - ignoredTruths[c];
    if (!evaluatedImages[c] || counted === 0) return null;
    return cocoAveragePrecision(perClass[c], counted);
  });
  return figures(names, right, predicted, trueCounts, ap);
}

function trueCountsOf(heldOut, c) {
  return heldOut.trueLabels.reduce((n, labels) => n + labels.filter((l) => l === c).length, 0);
}

function xywh([x1, y1, x2, y2]) {
  const width = x2 - x1;
  const height = y2 - y1;
  return { x: x1, y: y1, w: width, h: height, area: width * height };
}

function outsideArea(area) {
  return area < AREA_RANGE[0] || area > AREA_RANGE[1];
}

// pycocotools' bbIou (maskApi.c), iscrowd 0.
function iou(d, g) {
  const w = Math.min(d.w + d.x, g.w + g.x) - Math.max(d.x, g.x);
  if (w <= 0) return 0;
  const h = Math.min(d.h + d.y, g.h + g.y) - Math.max(d.y, g.y);
  if (h <= 0) return 0;
  const i = w * h;
  return i / (d.w * d.h + g.w * g.h - i);
}

// COCOeval.evaluateImg for one image and tag, at one IoU threshold: null where it has neither a true box nor a box.
function evaluateImage(heldOut, image, c, overlap) {
  const truths = heldOut.trueBoxes[image].map(xywh).filter((_, k) => heldOut.trueLabels[image][k] === c)
    .map((g) => ({ ...g, ignore: outsideArea(g.area) }));
  const boxes = heldOut.boxes[image].map((b, k) => ({ ...xywh(b), score: heldOut.scores[image][k] }))
    .filter((_, k) => heldOut.labels[image][k] === c);
  if (truths.length === 0 && boxes.length === 0) return null;
  truths.sort((a, b) => Number(a.ignore) - Number(b.ignore)); // stable, as COCOeval's mergesort
  boxes.sort((a, b) => b.score - a.score);
  const detections = boxes.slice(0, MAX_DETECTIONS);
  const taken = truths.map(() => false);
  for (const d of detections) {
    let best = Math.min(overlap, 1 - 1e-10);
    let m = -1;
    for (let g = 0; g < truths.length; g += 1) {
      if (taken[g]) continue;
      if (m > -1 && !truths[m].ignore && truths[g].ignore) break;
      const o = iou(d, truths[g]);
      if (o < best) continue;
      best = o;
      m = g;
    }
    d.matched = m > -1;
    d.ignored = m > -1 ? truths[m].ignore : outsideArea(d.area);
    if (m > -1) taken[m] = true;
  }
  return { boxes: detections, ignoredTruths: truths.filter((g) => g.ignore).length };
}

// COCOeval.accumulate's precision for one tag at one IoU, averaged over its 101 recall points as summarize does.
function cocoAveragePrecision(boxes, counted) {
  const sorted = [...boxes].sort((a, b) => b.score - a.score); // stable: image order, then score order
  const recall = [];
  const precision = [];
  let tp = 0;
  let fp = 0;
  for (const box of sorted) {
    if (!box.ignored) {
      if (box.matched) tp += 1;
      else fp += 1;
    }
    recall.push(tp / counted);
    precision.push(tp / (fp + tp + EPSILON));
  }
  for (let i = precision.length - 1; i > 0; i -= 1) {
    if (precision[i] > precision[i - 1]) precision[i - 1] = precision[i];
  }
  let total = 0;
  let at = 0;
  for (const point of RECALL_POINTS) {
    while (at < recall.length && recall[at] < point) at += 1; // np.searchsorted(recall, point, side="left")
    if (at >= recall.length) break;
    total += precision[at];
  }
  return total / RECALL_POINTS.length;
}
