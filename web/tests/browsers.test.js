// Headless browser tests of the web package (issue 15): the demo page (web/demo/, built by
// web/build.sh) trains the bundled seed model (seed.csv, drop missing, 80/20 split seed 42,
// Dense(10, relu) -> Dense(1, sigmoid), bce, accuracy, 100 epochs at batch 10) in
//   - Chromium on SwiftShader (WebGPU): SGD (fused executor) and Adam (layered under the WebGPU
//     default limits: too many storage buffers for the fused kernel);
//   - Firefox ESR on lavapipe (WebGPU): the same two, and the CPU backend;
//   - Chromium without WebGPU: the CPU fallback notice is shown, and it still trains;
// and each run's final training loss, test loss and accuracy and every weight must equal the
// native CPU backend's within 1e-4. The native reference is made now by the `wgtrain` command
// (WGTRAIN_BIN, built by web/test.sh), so it cannot rot. Model files cross both ways: the
// command's file loads in the page (same weights, same predictions), the page's file is read
// by `wgtrain evaluate` and `wgtrain predict`. Screenshots and fit times go to
// target/web-tests/. Run: bash web/test.sh
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const demo = path.join(repo, 'web/demo');
const out = path.join(repo, 'target/web-tests');
const wgtrain = process.env.WGTRAIN_BIN ?? path.join(repo, 'target/release/wgtrain');
const seedCsv = path.join(repo, 'examples/data/seed.csv');
const TOLERANCE = 1e-4;
const TRAIN_TIMEOUT_MS = 300_000;
const fitTimes = [];

// ---------------------------------------------------------------------------------------
// The native reference: `wgtrain train` on the CPU backend, its model file's weights.

function runWgtrain(args) {
  return execFileSync(wgtrain, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function lastJsonLine(text) {
  return JSON.parse(text.trim().split('\n').pop());
}

// The f32 tensors of a safetensors file, by name.
function readSafetensors(file) {
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const tensors = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    assert.equal(t.dtype, 'F32', `${name} is ${t.dtype}`);
    const [start, end] = t.data_offsets;
    const data = bytes.subarray(8 + headerLength + start, 8 + headerLength + end);
    tensors[name] = Array.from({ length: data.length / 4 }, (_, i) => data.readFloatLE(i * 4));
  }
  return tensors;
}

// Every parameter in layer order (kernel, then bias), as WebModel.weights() gives them.
function modelWeights(file) {
  const tensors = readSafetensors(file);
  const parameters = Object.keys(tensors)
    .map((name) => name.match(/^layers\.(\d+)\.(kernel|bias)$/))
    .filter(Boolean)
    .sort((a, b) => Number(a[1]) - Number(b[1]) || (a[2] === 'kernel' ? -1 : 1));
  return parameters.flatMap((m) => tensors[m[0]]);
}

function nativeReference(optimizer) {
  const file = path.join(out, `native-${optimizer}.safetensors`);
  const summary = lastJsonLine(runWgtrain([
    'train', '--data', seedCsv, '--layers', '10:relu,1:sigmoid', '--loss', 'bce', '--optimizer', optimizer,
    '--scale', 'none', '--missing', 'drop', '--test-split', '0.2', '--seed', '42', '--epochs', '100',
    '--batch-size', '10', '--backend', 'cpu', '--json', '--save', file,
  ]));
  return { file, summary, weights: modelWeights(file) };
}

// `wgtrain predict`'s p_1 column (the sigmoid output) for `model` on seed.csv.
function nativePredictions(model) {
  const lines = runWgtrain(['predict', '--model', model, '--data', seedCsv, '--backend', 'cpu']).trim().split('\n');
  const column = lines[0].split(',').indexOf('p_1');
  assert.ok(column > 0, `no p_1 column in ${lines[0]}`);
  return lines.slice(1).map((line) => Number(line.split(',')[column]));
}

function assertClose(actual, expected, what) {
  assert.ok(Number.isFinite(actual), `${what}: ${actual} is not a number`);
  assert.ok(Math.abs(actual - expected) <= TOLERANCE, `${what}: ${actual} vs native ${expected} (tolerance ${TOLERANCE})`);
}

function assertAllClose(actual, expected, what, tolerance = TOLERANCE) {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, native has ${expected.length}`);
  const bad = actual.map((v, i) => [i, v, expected[i]]).filter(([, a, e]) => !(Math.abs(a - e) <= tolerance));
  assert.equal(bad.length, 0, `${what}: ${bad.length} of ${actual.length} differ by more than ${tolerance}; first: index ${bad[0]?.[0]}, page ${bad[0]?.[1]}, native ${bad[0]?.[2]}`);
}

// ---------------------------------------------------------------------------------------
// The page: served on 127.0.0.1, driven through the same functions its buttons call.

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.ts': 'text/plain' };

function serve(root) {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname);
    const file = path.join(root, pathname.endsWith('/') ? `${pathname}index.html` : pathname);
    if (!file.startsWith(root)) { res.writeHead(403).end(); return; }
    fs.readFile(file, (error, data) => {
      if (error) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': MIME[path.extname(file)] ?? 'application/octet-stream' }).end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-default-apps',
];

async function launch(kind) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), `wgtrain-${kind}-`));
  if (kind === 'firefox') {
    return puppeteer.launch({
      browser: 'firefox', executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr', headless: true, userDataDir,
      extraPrefsFirefox: { 'dom.webgpu.enabled': true, 'gfx.webgpu.ignore-blocklist': true, 'gfx.webgpu.force-enabled': true },
    });
  }
  const webgpu = kind === 'chromium' ? ['--enable-unsafe-webgpu'] : ['--disable-blink-features=WebGPU'];
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, userDataDir,
    args: [...CHROMIUM_FLAGS, ...webgpu],
  });
}

async function openPage(browser, url) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  await page.goto(url);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), { timeout: 60_000, polling: 100 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'ready', `the page did not start: ${await page.$eval('#error', (e) => e.textContent)}`);
  return page;
}

async function pageError(page) {
  return page.$eval('#error', (e) => e.textContent);
}

// Chooses the form's settings and clicks Train; resolves to the page's result.
async function trainOnPage(page, { optimizer, device }) {
  await page.select('#optimizer', optimizer);
  await page.select('#device', device);
  await page.click('#train');
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), { timeout: TRAIN_TIMEOUT_MS, polling: 250 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'done', `training failed: ${await pageError(page)}`);
  return page.evaluate(() => window.wgtrainDemo.result);
}

function checkAgainstNative(result, reference, what) {
  assertClose(result.trainLoss, reference.summary.train_loss, `${what}: final training loss`);
  assertClose(result.history.accuracy.at(-1), reference.summary.train_accuracy, `${what}: final training accuracy`);
  assertClose(result.evaluation.loss, reference.summary.test_loss, `${what}: test loss`);
  assertClose(result.evaluation.accuracy, reference.summary.test_accuracy, `${what}: test accuracy`);
  assertAllClose(result.weights, reference.weights, `${what}: weights`);
}

// The page's predictions on seed.csv (the first output of each row).
async function predictOnPage(page) {
  await page.evaluate(() => window.wgtrainDemo.predict());
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, 'predicted', `prediction failed: ${await pageError(page)}`);
  const predictions = await page.evaluate(() => window.wgtrainDemo.predictions);
  return Array.from({ length: predictions.rows }, (_, r) => predictions.values[r * predictions.columns]);
}

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true });
}

function recordTime(browserName, result) {
  fitTimes.push({ browser: browserName, backend: result.backend, adapter: result.adapter, executor: result.executor, optimizer: result.optimizerName, fitSeconds: result.fitSeconds, firstEpochSeconds: result.firstEpochSeconds });
}

// ---------------------------------------------------------------------------------------

let server;
let url;
const reference = {};

before(async () => {
  fs.mkdirSync(out, { recursive: true });
  assert.ok(fs.existsSync(path.join(demo, 'pkg/wgtrain_web.js')), 'web/demo/pkg/ is missing: run bash web/build.sh');
  reference.sgd = nativeReference('sgd');
  reference.adam = nativeReference('adam');
  server = await serve(demo);
  url = `http://127.0.0.1:${server.address().port}/`;
});

after(async () => {
  server?.close();
  fs.writeFileSync(path.join(out, 'fit-times.json'), JSON.stringify(fitTimes, null, 2));
  for (const t of fitTimes) console.log(`fit time: ${t.browser} ${t.backend} ${t.executor} ${t.optimizer}: ${t.fitSeconds.toFixed(2)} s, first epoch ${t.firstEpochSeconds.toFixed(2)} s (${t.adapter})`);
});

// On each executor the browser's WebGPU runs under the default limits: SGD fits the fused
// kernel, Adam's state needs more than 8 storage buffers per stage, so it runs layered.
const EXECUTORS = [
  { optimizer: 'sgd', executor: 'fused' },
  { optimizer: 'adam', executor: 'layered', reason: /storage buffers/ },
];

for (const [kind, name, adapter] of [['chromium', 'Chromium', /swiftshader/i], ['firefox', 'Firefox ESR', /./]]) {
  describe(`${name} on WebGPU`, () => {
    let browser;
    let page;
    before(async () => {
      browser = await launch(kind);
      page = await openPage(browser, url);
    });
    after(async () => { await browser?.close(); });

    for (const { optimizer, executor, reason } of EXECUTORS) {
      test(`trains the seed model with ${optimizer} on the ${executor} executor as the native CPU backend does`, async () => {
        const result = await trainOnPage(page, { optimizer, device: 'gpu' });
        result.optimizerName = optimizer;
        recordTime(name, result);
        await screenshot(page, `${kind}-webgpu-${optimizer}`);
        assert.equal(result.backend, 'gpu');
        assert.match(result.adapter, adapter);
        assert.equal(result.notice, null);
        assert.equal(result.executor, executor, result.executorReason);
        if (reason) assert.match(result.executorReason, reason);
        assert.equal(await page.$eval('#executor', (e) => e.textContent), executor);
        checkAgainstNative(result, reference[optimizer], `${name} ${executor}`);
      });
    }

    test('model files cross between the page and the command both ways', async () => {
      // The page's last model (Adam) is read by the command ...
      const pageFile = path.join(out, `${kind}-page-model.safetensors`);
      fs.writeFileSync(pageFile, Buffer.from(await page.evaluate(() => window.wgtrainDemo.modelBytes())));
      const evaluated = lastJsonLine(runWgtrain(['evaluate', '--model', pageFile, '--data', seedCsv, '--backend', 'cpu', '--json']));
      const nativeEvaluated = lastJsonLine(runWgtrain(['evaluate', '--model', reference.adam.file, '--data', seedCsv, '--backend', 'cpu', '--json']));
      assertClose(evaluated.test_loss, nativeEvaluated.test_loss, 'wgtrain evaluate of the page\'s model: loss');
      assertClose(evaluated.test_accuracy, nativeEvaluated.test_accuracy, 'wgtrain evaluate of the page\'s model: accuracy');
      const pagePredictions = await predictOnPage(page);
      assertAllClose(nativePredictions(pageFile), pagePredictions, 'wgtrain predict of the page\'s model vs the page');
      // ... and the command's model loads in the page with its weights and predicts alike.
      const nativeBytes = Array.from(fs.readFileSync(reference.sgd.file));
      await page.evaluate((bytes) => window.wgtrainDemo.loadModel(bytes), nativeBytes);
      assert.equal(await page.evaluate(() => document.body.dataset.state), 'loaded', await pageError(page));
      const loaded = await page.evaluate(() => window.wgtrainDemo.loaded);
      assert.equal(loaded.epochsTrained, 100);
      assertAllClose(loaded.weights, reference.sgd.weights, 'the command\'s model loaded in the page: weights', 0);
      assertAllClose(await predictOnPage(page), nativePredictions(reference.sgd.file), 'the command\'s model: page vs wgtrain predict');
      await screenshot(page, `${kind}-webgpu-predicted`);
    });

    if (kind === 'firefox') {
      test('trains on the CPU backend in the page as natively', async () => {
        const result = await trainOnPage(page, { optimizer: 'adam', device: 'cpu' });
        result.optimizerName = 'adam';
        recordTime(name, result);
        assert.equal(result.backend, 'cpu');
        assert.equal(result.notice, null);
        checkAgainstNative(result, reference.adam, `${name} CPU backend`);
      });
    }
  });
}

describe('Chromium without WebGPU', () => {
  let browser;
  after(async () => { await browser?.close(); });

  test('shows the CPU fallback notice and still trains as natively', async () => {
    browser = await launch('chromium-no-webgpu');
    const page = await openPage(browser, url);
    const notice = await page.$eval('#notice', (e) => ({ text: e.textContent, shown: getComputedStyle(e).display !== 'none' }));
    assert.ok(notice.shown, 'the fallback notice is not shown before training');
    assert.match(notice.text, /no usable WebGPU.*CPU backend/);
    const result = await trainOnPage(page, { optimizer: 'adam', device: 'auto' });
    result.optimizerName = 'adam';
    recordTime('Chromium (no WebGPU)', result);
    await screenshot(page, 'chromium-no-webgpu-adam');
    assert.equal(result.backend, 'cpu');
    // Without the feature Chromium may still define navigator.gpu, but gives no adapter.
    assert.match(result.notice, /navigator\.gpu is missing|gave no adapter/);
    const shown = await page.$eval('#notice', (e) => ({ text: e.textContent, shown: getComputedStyle(e).display !== 'none' }));
    assert.ok(shown.shown, 'the fallback notice is not shown after training');
    assert.match(shown.text, /training on the CPU backend/);
    checkAgainstNative(result, reference.adam, 'Chromium CPU fallback');
  });
});
