// Builds webchat/dist/kefu-widget.js: one self-contained IIFE (socket.io-client bundled).
// `npm ci && npm run build`; `npm run watch` rebuilds on change.
import * as esbuild from "esbuild";

const options = {
  entryPoints: ["src/index.js"],
  bundle: true,
  format: "iife",
  target: ["es2018"],
  minify: true,
  sourcemap: false,
  legalComments: "eof",
  outfile: "dist/kefu-widget.js",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
}
