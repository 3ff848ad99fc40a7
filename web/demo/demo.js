// The demo page's logic: reads the form, trains through the web package (pkg/, built by
// web/build.sh) with a live loss curve and epoch log, shows where the model runs (adapter,
// executor and why, any CPU fallback), saves and loads model files, predicts on a CSV file.
// `window.wgtrainDemo` exposes the page's state and actions to the headless browser tests
// (web/tests/), which drive the same functions the buttons do.
import init, {
  CsvData, DataOptions, ModelOptions, TrainOptions, WebModel, bundledSeedCsv, webgpuAdapter,
} from './pkg/wgtrain_web.js';

const $ = (id) => document.getElementById(id);

const page = {
  csv: { bytes: null, name: 'seed.csv' },
  predictCsv: null,
  model: null,
  busy: false,
  result: null,
  loaded: null,
  predictions: null,
};

function setState(state, text) {
  document.body.dataset.state = state;
  $('state').textContent = text;
}

function log(line) {
  const el = $('log');
  el.textContent += line + '\n';
  el.scrollTop = el.scrollHeight;
}

function showError(e) {
  const el = $('error');
  el.textContent = e ? String(e.message ?? e) : '';
  el.style.display = e ? 'block' : 'none';
}

function showNotice(text) {
  const el = $('notice');
  el.textContent = text ?? '';
  el.style.display = text ? 'block' : 'none';
}

function showModel(model) {
  const device = model.device;
  $('backend').textContent = device.backend === 'gpu' ? 'WebGPU' : 'CPU backend';
  $('adapter').textContent = device.adapter;
  $('executor').textContent = model.executor;
  $('reason').textContent = model.executorReason;
  showNotice(device.notice ?? null);
}

function setBusy(busy) {
  page.busy = busy;
  for (const id of ['train', 'download', 'predict']) $(id).disabled = busy || (id !== 'train' && !page.model);
}

// The loss curve: one polyline over the epochs asked for, y from 0 to the largest loss.
function drawCurve(losses, epochs) {
  const canvas = $('curve');
  const ctx = canvas.getContext('2d');
  const { width: w, height: h } = canvas;
  const pad = { l: 44, r: 10, t: 10, b: 24 };
  ctx.clearRect(0, 0, w, h);
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#d0d7de';
  ctx.fillStyle = '#57606a';
  ctx.strokeRect(pad.l, pad.t, w - pad.l - pad.r, h - pad.t - pad.b);
  if (losses.length === 0) return;
  const top = Math.max(...losses.filter(Number.isFinite), 1e-6) * 1.05;
  const x = (i) => pad.l + (w - pad.l - pad.r) * (epochs > 1 ? i / (epochs - 1) : 0);
  const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / top);
  ctx.fillText(top.toPrecision(3), 2, pad.t + 8);
  ctx.fillText('0', 2, h - pad.b);
  ctx.fillText(`epoch ${losses.length}/${epochs}`, w - pad.r - 90, h - 6);
  ctx.strokeStyle = '#1f6feb';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i === 0 ? ctx.moveTo(x(i), y(v)) : ctx.lineTo(x(i), y(v))));
  ctx.stroke();
}

function formatLogs(logs) {
  return Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
}

function modelOptions() {
  const options = new ModelOptions();
  options.layers = $('layers').value;
  options.loss = $('loss').value;
  options.optimizer = $('optimizer').value;
  const lr = $('lr').value.trim();
  options.learningRate = lr === '' ? undefined : Number(lr);
  options.device = $('device').value;
  return options;
}

function dataOptions() {
  const options = new DataOptions();
  options.label = $('label').value;
  options.scaling = $('scaling').value;
  return options;
}

function replaceModel(model) {
  if (page.model) page.model.free();
  page.model = model;
}

// Trains a new model with the form's settings on the chosen CSV (the bundled one by default).
async function train() {
  if (page.busy) return;
  setBusy(true);
  showError(null);
  $('log').textContent = '';
  setState('training', 'training…');
  const options = modelOptions();
  let data = null;
  try {
    data = CsvData.fromCsv(page.csv.bytes, page.csv.name, dataOptions(), options);
    log(data.report);
    const model = await WebModel.create(options, data);
    replaceModel(model);
    showModel(model);
    const fit = new TrainOptions();
    fit.epochs = Number($('epochs').value);
    fit.batchSize = Number($('batch').value);
    const losses = [];
    const epochEnds = [];
    drawCurve(losses, fit.epochs);
    const start = performance.now();
    const history = await model.fit(data, fit, (epoch, logs) => {
      epochEnds.push((performance.now() - start) / 1000);
      losses.push(logs.loss);
      log(`epoch ${epoch}: ${formatLogs(logs)}`);
      drawCurve(losses, fit.epochs);
    });
    const fitSeconds = (performance.now() - start) / 1000;
    const evaluation = data.testRows > 0 ? await model.evaluate(data) : null;
    showModel(model);
    const device = model.device;
    page.result = {
      backend: device.backend,
      adapter: device.adapter,
      notice: device.notice ?? null,
      executor: model.executor,
      executorReason: model.executorReason,
      epochs: history.epochs,
      fitSeconds,
      // The first epoch builds the pipelines; the rest is the steady state.
      firstEpochSeconds: epochEnds[0],
      trainLoss: history.loss[history.loss.length - 1],
      history,
      evaluation,
      weights: Array.from(await model.weights()),
    };
    const tested = evaluation ? `; test ${formatLogs(evaluation)}` : '';
    $('result').textContent = `${history.epochs} epochs in ${fitSeconds.toFixed(2)} s; train loss ${page.result.trainLoss.toFixed(4)}${tested}`;
    log(`fit: ${fitSeconds.toFixed(2)} s${tested}`);
    setState('done', 'trained');
  } catch (e) {
    showError(e);
    setState('error', 'failed');
  } finally {
    data?.free();
    options.free();
    setBusy(false);
  }
}

// The current model as model-file bytes (what the Download button saves).
async function modelBytes() {
  if (!page.model) throw new Error('no model: train or load one first');
  return page.model.save();
}

async function download() {
  try {
    const bytes = await modelBytes();
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'wgtrain-model.safetensors';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  } catch (e) {
    showError(e);
  }
}

// Loads model-file bytes (one this page saved or `wgtrain train --save` wrote).
async function loadModel(bytes) {
  setBusy(true);
  showError(null);
  setState('loading', 'loading model…');
  try {
    const model = await WebModel.load(new Uint8Array(bytes), $('device').value);
    replaceModel(model);
    showModel(model);
    page.loaded = { epochsTrained: model.epochsTrained, weights: Array.from(await model.weights()) };
    log(`loaded a model trained ${model.epochsTrained} epochs`);
    $('result').textContent = `loaded a model trained ${model.epochsTrained} epochs`;
    setState('loaded', 'model loaded');
  } catch (e) {
    showError(e);
    setState('error', 'failed');
  } finally {
    setBusy(false);
  }
}

// Predicts on the chosen prediction CSV (else the training CSV); shows the first 20 rows.
async function predict() {
  setBusy(true);
  showError(null);
  try {
    const csv = page.predictCsv ?? page.csv;
    const predictions = await page.model.predictCsv(csv.bytes, csv.name);
    page.predictions = { rows: predictions.rows, columns: predictions.columns, values: Array.from(predictions.values), labels: predictions.labels };
    predictions.free();
    const { rows, columns, values, labels } = page.predictions;
    const shown = Math.min(rows, 20);
    let html = `<p>${rows} rows of ${csv.name}${rows > shown ? ` (first ${shown})` : ''}</p><table><tr><th>row</th><th>output</th><th>label</th></tr>`;
    for (let r = 0; r < shown; r++) {
      const out = values.slice(r * columns, (r + 1) * columns).map((v) => v.toFixed(4)).join(' ');
      html += `<tr><td>${r + 1}</td><td>${out}</td><td>${labels[r]}</td></tr>`;
    }
    $('predictions').innerHTML = html + '</table>';
    setState('predicted', 'predicted');
  } catch (e) {
    showError(e);
    setState('error', 'failed');
  } finally {
    setBusy(false);
  }
}

async function fileBytes(input) {
  const file = input.files[0];
  return file ? { bytes: new Uint8Array(await file.arrayBuffer()), name: file.name } : null;
}

async function main() {
  await init();
  page.csv.bytes = bundledSeedCsv();
  $('train').addEventListener('click', train);
  $('download').addEventListener('click', download);
  $('predict').addEventListener('click', predict);
  $('csv').addEventListener('change', async (ev) => {
    const chosen = await fileBytes(ev.target);
    if (chosen) { page.csv = chosen; $('csv-name').textContent = chosen.name; }
  });
  $('model-file').addEventListener('change', async (ev) => {
    const chosen = await fileBytes(ev.target);
    if (chosen) await loadModel(chosen.bytes);
  });
  $('predict-csv').addEventListener('change', async (ev) => { page.predictCsv = await fileBytes(ev.target); });
  drawCurve([], Number($('epochs').value));
  try {
    $('webgpu').textContent = `yes: ${await webgpuAdapter()}`;
  } catch (e) {
    $('webgpu').textContent = `no (${e.message})`;
    if ($('device').value === 'auto') showNotice(`This browser has no usable WebGPU: models train on the CPU backend (${e.message}).`);
  }
  setBusy(false);
  setState('ready', 'ready');
}

window.wgtrainDemo = {
  get result() { return page.result; },
  get loaded() { return page.loaded; },
  get predictions() { return page.predictions; },
  train,
  predict,
  loadModel,
  modelBytes: async () => Array.from(await modelBytes()),
};

main().catch((e) => { showError(e); setState('error', 'failed to start'); });
