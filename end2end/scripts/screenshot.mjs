// Takes screenshots of pages for a human to look at:
//   node scripts/screenshot.mjs http://127.0.0.1:3000/ out.png [width] [height]
import { chromium } from "playwright";

const [url, out, width = "1280", height = "900"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: Number(width), height: Number(height) } });
await page.goto(url);
await page.waitForSelector("body[data-hydrated]", { timeout: 15000 }).catch(() => {});
await page.screenshot({ path: out, fullPage: true });
await browser.close();
