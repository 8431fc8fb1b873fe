// Signs in and screenshots every page, desktop and phone, for a person to look at:
//   node scripts/tour.mjs http://127.0.0.1:3000 admin PASSWORD /tmp/shots
import { chromium } from "playwright";

const [base, user, password, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
for (const [label, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
  const page = await browser.newPage({ viewport });
  await page.goto(`${base}/sign-in`);
  await page.waitForSelector("body[data-hydrated]");
  await page.screenshot({ path: `${out}/${label}-signin.png`, fullPage: true });
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("article.card");
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${out}/${label}-fleet.png`, fullPage: true });
  const first = page.locator("article.card").nth(1);
  await first.getByText("Commands", { exact: true }).click();
  await first.getByRole("button", { name: "Restart app", exact: true }).click();
  await page.screenshot({ path: `${out}/${label}-commands.png`, fullPage: true });
  await first.getByRole("button", { name: "Confirm: Restart app?" }).click();
  await page.waitForSelector(".toast");
  await page.screenshot({ path: `${out}/${label}-toast.png` });
  for (const path of ["/alerts", "/audit", "/projects/1", "/admin/projects", "/admin/users"]) {
    await page.goto(`${base}${path}`);
    await page.waitForSelector("body[data-hydrated]");
    await page.screenshot({ path: `${out}/${label}-${path.replaceAll("/", "_")}.png`, fullPage: true });
  }
  await page.close();
}
await browser.close();
