// Lighthouse 12 in user-flow modes, for a page that stays too busy to answer a navigation run's
// hang check (PAGE_HUNG: software WebGL keeps the main thread drawing): a timespan over the load
// and the next seconds (best practices read over time: console errors, deprecations, issues),
// then a snapshot of the settled page (accessibility, best practices read from the DOM).
//   node snapshot.mjs URL OUT_PREFIX "CHROME FLAGS" [SETTLE_MS]
// Writes OUT_PREFIX-timespan.json and OUT_PREFIX-snapshot.json (Lighthouse reports).
import fs from 'node:fs';
import puppeteer from 'puppeteer-core';
import {startTimespan, snapshot} from 'lighthouse';

const [url, out, flags, settle = '20000'] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH || '/usr/bin/chromium',
  headless: true,
  args: flags.split(' ').filter((f) => f && f !== '--headless=new'),
  protocolTimeout: 600000,
  // Lighthouse's mobile screen (Moto G Power): the flow modes measure the page as it is shown.
  defaultViewport: {width: 412, height: 823, deviceScaleFactor: 1.75, isMobile: true, hasTouch: true},
});
try {
  const page = await browser.newPage();
  const config = {extends: 'lighthouse:default', settings: {onlyCategories: ['accessibility', 'best-practices']}};
  const span = await startTimespan(page, {config});
  await page.goto(url, {waitUntil: 'load', timeout: 300000});
  await new Promise((resolve) => setTimeout(resolve, Number(settle)));
  const spanResult = await span.endTimespan();
  fs.writeFileSync(`${out}-timespan.json`, JSON.stringify(spanResult.lhr));
  const snapResult = await snapshot(page, {config});
  fs.writeFileSync(`${out}-snapshot.json`, JSON.stringify(snapResult.lhr));
} finally {
  await browser.close();
}
