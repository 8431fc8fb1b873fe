// Lighthouse 12 (npm, pinned in package.json) on the pages support staff live on, driving
// Debian's chromium; prints performance, accessibility and best-practices scores per page.
//   node scripts/lighthouse.mjs http://127.0.0.1:3000 admin PASSWORD [--projects 1000]
// With --projects N the fleet is first grown to N projects: each is added to the built-in
// simulator (PICKY_FLEET_SIM_URL, default http://127.0.0.1:8910) and then to the dashboard
// through the REST API, as an admin would.
// Run it against the release site (`./x run`): a debug build's wasm says nothing.
// Signed-in pages get the session cookie of a sign-in made here, as a browser would.
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const args = process.argv.slice(2);
const projectsFlag = args.indexOf("--projects");
const wantedProjects = projectsFlag >= 0 ? Number(args.splice(projectsFlag, 2)[1]) : 0;
const [base, user, password] = args;
if (!base || !user || !password || !Number.isInteger(wantedProjects) || wantedProjects < 0) {
  console.error("usage: node scripts/lighthouse.mjs BASE_URL USER PASSWORD [--projects N]");
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

// Adds projects until the fleet holds `wanted`, a few requests at a time.
async function growFleet(wanted) {
  const sim = process.env.PICKY_FLEET_SIM_URL ?? "http://127.0.0.1:8910";
  const headers = { origin: base, cookie, "content-type": "application/json" };
  const listed = await fetch(`${base}/api/v1/projects`, { headers });
  if (!listed.ok) throw new Error(`listing projects failed: ${listed.status}`);
  const have = (await listed.json()).length;
  const states = ["CONNECTED", "CONNECTED", "CONNECTED", "TIMEOUT", "UNPAIRED"];
  const add = async (i) => {
    const token = `lighthouse-${String(i).padStart(8, "0")}`;
    const atSim = await fetch(`${sim}/_sim/projects`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, project_id: 900000 + i, state: states[i % states.length], queue: i % 7 }),
    });
    if (!atSim.ok && atSim.status !== 409) throw new Error(`simulator refused project ${i}: ${atSim.status}`);
    const atFleet = await fetch(`${base}/api/v1/projects`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: `Lighthouse ${String(i).padStart(4, "0")}`, token }),
    });
    if (!atFleet.ok && atFleet.status !== 409) {
      throw new Error(`adding project ${i} failed: ${atFleet.status} ${await atFleet.text()}`);
    }
  };
  for (let i = have; i < wanted; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, wanted - i) }, (_, k) => add(i + k)));
  }
  console.error(`the fleet holds ${Math.max(have, wanted)} projects`);
}
if (wantedProjects > 0) await growFleet(wantedProjects);

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
