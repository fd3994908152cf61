// Drives Debian's chromium (playwright-core, no browser download) through the
// dashboard at argv[2]: waits for the file system argv[3] to be rendered,
// takes a screenshot to argv[4], clicks "Advance clock" and waits for the
// page's clock to move. Prints one JSON line of what it saw.
import { chromium } from "playwright-core";

const [url, fsId, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  const card = page.locator(`#fs-${fsId}`);
  await card.locator(".fs-id").filter({ hasText: fsId }).waitFor({ timeout: 20000 });
  // Two polls, so the plots have a line (at least two samples).
  await page.waitForFunction(() => Number(document.body.dataset.polls || 0) >= 3, null, { timeout: 20000 });
  out.fs_text = await card.locator(".fs-id").innerText();
  out.facts = await card.locator(".fs-facts").innerText();
  out.mount_targets = await card.locator(".mount-targets tbody").innerText();
  out.access_points = await card.locator(".access-points tbody").innerText();
  out.credit_samples = Number(await card.locator(".plot-credits").getAttribute("data-samples"));
  out.credit_points = await card.locator(".plot-credits polyline").getAttribute("points");
  out.clock_before = Number(await page.locator("#clock-now").getAttribute("data-epoch"));
  await page.fill("#clock-seconds", "86400");
  await page.click("#clock-advance");
  await page.waitForFunction((before) =>
    Number(document.querySelector("#clock-now").dataset.epoch) >= before + 86400,
  out.clock_before, { timeout: 20000 });
  out.clock_after = Number(await page.locator("#clock-now").getAttribute("data-epoch"));
  // A background poll can show the advanced clock before the POST's own answer arrives
  // and writes its result line: wait for that line as well.
  await page.waitForFunction(() => document.querySelector("#clock-result").textContent !== "",
    null, { timeout: 20000 });
  out.clock_result = await page.locator("#clock-result").innerText();
  await page.screenshot({ path: shot, fullPage: true });
  out.errors = errors;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
