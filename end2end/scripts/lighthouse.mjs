// Lighthouse 12 (npm, pinned in package.json) on the pages support staff live on, driving
// Debian's chromium; prints performance, accessibility and best-practices scores per page.
//   node scripts/lighthouse.mjs http://127.0.0.1:3000 admin PASSWORD
// Run it against the release site (`./x run`): a debug build's wasm says nothing.
// Signed-in pages get the session cookie of a sign-in made here, as a browser would.
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const [base, user, password] = process.argv.slice(2);
if (!base || !user || !password) {
  console.error("usage: node scripts/lighthouse.mjs BASE_URL USER PASSWORD");
  process.exit(2);
}

const signIn = await fetch(`${base}/fn/sign_in`, {
  method: "POST",
  redirect: "manual",
  headers: { origin: base, "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
  body: new URLSearchParams({ username: user, password }),
});
const cookie = signIn.headers
  .getSetCookie()
  .map((c) => c.split(";")[0])
  .find((c) => c.startsWith("picky_fleet_session="));
if (!cookie) {
  console.error(`sign-in failed (${signIn.status}): no session cookie`);
  process.exit(1);
}

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  chromeFlags: [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const pages = [
  ["sign-in", "/sign-in", false],
  ["fleet", "/", true],
  ["audit", "/audit", true],
];
const rows = [];
try {
  for (const [name, path, signedIn] of pages) {
    const { lhr } = await lighthouse(`${base}${path}`, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance", "accessibility", "best-practices"],
      extraHeaders: signedIn ? { Cookie: cookie } : undefined,
    });
    const score = (id) => Math.round((lhr.categories[id]?.score ?? 0) * 100);
    const lcp = lhr.audits["largest-contentful-paint"]?.displayValue ?? "?";
    rows.push({ name, performance: score("performance"), accessibility: score("accessibility"),
                bestPractices: score("best-practices"), lcp });
  }
} finally {
  await chrome.kill();
}
console.log("| page | performance | accessibility | best practices | LCP |");
console.log("|---|---|---|---|---|");
for (const r of rows) {
  console.log(`| ${r.name} | ${r.performance} | ${r.accessibility} | ${r.bestPractices} | ${r.lcp} |`);
}
